//! The `godrive` binary: parse the command line and hand over to [`godrive::cli`].

fn main() -> anyhow::Result<()> {
    godrive::cli::run()
}
