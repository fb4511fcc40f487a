#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    vizora::server::cli::main().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is the server; the browser side is the library built to wasm.
}
