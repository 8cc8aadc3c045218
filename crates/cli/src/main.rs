//! `rampart`: the command-line entry point.
//!
//! Exit codes: 0 success; 1 a control at or above `--fail-on` failed; 2 usage or input error.

mod scan;
mod server_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rampart",
    version,
    about = "Rampart: cloud security posture management — inventory, controls, findings",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate controls against inventory files and print the findings.
    Scan(scan::ScanArgs),
    /// Import inventory files into a workspace of the local store and evaluate them.
    Import(server_cmd::ImportArgs),
    /// Run the HTTPS server (API and web app).
    Serve(server_cmd::ServeArgs),
    /// Run the server with a demo workspace filled from the bundled sample inventory.
    Demo(server_cmd::DemoArgs),
    /// Inspect and test controls.
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// List frameworks and their requirements.
    Frameworks(ContentArgs),
}

#[derive(Subcommand, Debug)]
enum ControlsCommand {
    /// List the loaded controls.
    List(ContentArgs),
    /// Evaluate every control's pass and fail fixtures; exit 1 if any disagrees.
    Test(ContentArgs),
}

#[derive(Args, Debug)]
struct ContentArgs {
    /// Directory (or file) of additional control and framework YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Import(args) => server_cmd::import(args),
        Command::Serve(args) => server_cmd::serve(args),
        Command::Demo(args) => server_cmd::demo(args),
        Command::Controls(ControlsCommand::List(args)) => controls_list(args),
        Command::Controls(ControlsCommand::Test(args)) => controls_test(args),
        Command::Frameworks(args) => frameworks(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn load_catalog(dirs: &[PathBuf]) -> anyhow::Result<rampart_rules::Catalog> {
    rampart_rules::Catalog::load(dirs)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .map_err(|e| e.context("cannot load controls"))
}

fn controls_list(args: ContentArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(&args.controls)?;
    if args.json {
        let list: Vec<&rampart_model::Control> = catalog.controls().collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        for c in catalog.controls() {
            let types: Vec<&str> = c.resource_types.iter().map(|t| t.as_str()).collect();
            println!(
                "{:<9} {:<48} {} [{}]",
                c.severity,
                c.id,
                c.title,
                types.join(", ")
            );
        }
        eprintln!("{} controls", catalog.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn controls_test(args: ContentArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(&args.controls)?;
    let problems = catalog.check_fixtures();
    let fixtures: usize = catalog
        .compiled_controls()
        .iter()
        .map(|c| c.fixtures_pass.len() + c.fixtures_fail.len())
        .sum();
    for p in &problems {
        println!("FAIL {p}");
    }
    println!(
        "{} controls, {} fixtures: {} problem(s)",
        catalog.len(),
        fixtures,
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn frameworks(args: ContentArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(&args.controls)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(catalog.frameworks())?);
        return Ok(ExitCode::SUCCESS);
    }
    for fw in catalog.frameworks() {
        let mapped = fw
            .requirements
            .iter()
            .filter(|r| !r.controls.is_empty())
            .count();
        println!(
            "{} — {} {} ({} requirements, {} with controls, {} manual)",
            fw.id,
            fw.name,
            fw.version,
            fw.requirements.len(),
            mapped,
            fw.requirements.iter().filter(|r| r.manual).count()
        );
    }
    Ok(ExitCode::SUCCESS)
}
