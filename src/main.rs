//! The `oko` binary: everything is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    oko::cli::main()
}
