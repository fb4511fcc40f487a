// The browser build is split into parts (`cargo leptos build --split`, see
// src/app.rs). The splitter moves a function's data along with its code only
// when the linker keeps each data item its own segment; merged, every string
// of the console stays in the shared part that the login page and the player
// load too.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--no-merge-data-segments");
    }
}
