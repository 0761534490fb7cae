//! The `pharos` binary: parses the command line and hands it to [`pharos::cli::run`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    pharos::memory::fix_mmap_threshold();
    let cli = pharos::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(pharos::cli::run(cli))
}
