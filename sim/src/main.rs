//! The `faultline` command: see `faultline --help`, or `cli` for the commands.

fn main() {
    std::process::exit(sim::cli::main());
}
