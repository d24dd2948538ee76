//! The `godrive` binary: parse the command line and hand over to [`godrive::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match godrive::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, causes included: "connecting to PostgreSQL: could not reach ...".
            eprintln!("godrive: {e:#}");
            ExitCode::FAILURE
        }
    }
}
