//! `vilo-contract-build [--release] --manifest-path <contract>/Cargo.toml`
//!
//! Builds one ink! contract exactly as `cargo contract build [--release]` of cargo-contract 5.0.3
//! does: the same `contract_build::execute` call with the same arguments (cargo-contract's
//! `src/cmd/build.rs`, with every other flag at its default). Writes `<name>.wasm`, `<name>.json`
//! and `<name>.contract` into the contract's `target/ink`. Exit code 1 on a build error, 2 on bad
//! arguments.

use contract_build::{
    BuildArtifacts, BuildMode, ExecuteArgs, Features, ImageVariant, ManifestPath, Network,
    OutputType, Target, UnstableFlags, Verbosity, DEFAULT_MAX_MEMORY_PAGES,
};
use std::process::ExitCode;

const USAGE: &str = "usage: vilo-contract-build [--release] --manifest-path <contract>/Cargo.toml";

fn main() -> ExitCode {
    let mut release = false;
    let mut manifest = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--release" => release = true,
            "--manifest-path" => manifest = args.next(),
            "--version" => {
                println!("vilo-contract-build {} (contract-build 5.0.3)", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(manifest) = manifest else {
        eprintln!("error: --manifest-path is required\n{USAGE}");
        return ExitCode::from(2);
    };
    match build(&manifest, release) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ERROR: {err:?}");
            ExitCode::from(1)
        }
    }
}

fn build(manifest: &str, release: bool) -> anyhow::Result<()> {
    let args = ExecuteArgs {
        manifest_path: ManifestPath::new(manifest)?,
        verbosity: Verbosity::Default,
        build_mode: if release { BuildMode::Release } else { BuildMode::Debug },
        features: Features::default(),
        network: Network::Online,
        build_artifact: BuildArtifacts::All,
        unstable_flags: UnstableFlags::default(),
        // None = the contract's [package.metadata.contract] setting, else cargo-contract's default.
        optimization_passes: None,
        keep_debug_symbols: false,
        extra_lints: false,
        output_type: OutputType::HumanReadable,
        skip_wasm_validation: false,
        target: Target::Wasm,
        max_memory_pages: DEFAULT_MAX_MEMORY_PAGES,
        image: ImageVariant::Default,
    };
    contract_build::execute(args)?;
    Ok(())
}
