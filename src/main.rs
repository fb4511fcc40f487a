// The server's allocator. A connect storm of 19,000 displays allocates and
// frees a great deal around the few kilobytes each connection keeps; glibc's
// malloc kept most of that as the process's memory (`vizora loadtest
// --displays 19000`: 20.0 KiB per idle display), mimalloc returns it (15.6).
#[cfg(feature = "ssr")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    vizora::server::cli::main().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is the server; the browser side is the library built to wasm.
}
