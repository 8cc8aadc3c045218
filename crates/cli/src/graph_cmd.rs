//! `rampart graph path` and `rampart graph neighbours`: the security graph of inventory files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use rampart_rules::Graph;

#[derive(Subcommand, Debug)]
pub enum GraphCommand {
    /// Shortest attack paths from internet entry points to an asset.
    Path {
        #[command(flatten)]
        input: GraphInput,
        /// Target asset: Rampart id, native id (ARN) or unique name.
        #[arg(long, value_name = "ASSET")]
        to: String,
        /// At most this many paths (one per entry point, shortest first).
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// Assets within N hops of an asset, over relationships in both directions.
    Neighbours {
        /// Rampart id, native id (ARN) or unique name.
        asset: String,
        #[command(flatten)]
        input: GraphInput,
        /// How many hops to follow.
        #[arg(long, default_value_t = 1)]
        depth: usize,
    },
}

#[derive(Args, Debug)]
pub struct GraphInput {
    /// Inventory file (Rampart snapshot or AWS Config snapshot); repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE", required = true)]
    input: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: GraphCommand) -> anyhow::Result<ExitCode> {
    let (input, json) = match &cmd {
        GraphCommand::Path { input, .. } | GraphCommand::Neighbours { input, .. } => {
            (&input.input, input.json)
        }
    };
    let inventory = rampart_import::load_files(input, Utc::now()).map_err(|e| anyhow!("{e}"))?;
    let graph = Graph::build(&inventory);
    match cmd {
        GraphCommand::Path { to, limit, .. } => {
            let Some(target) = graph.find(&to) else {
                bail!("--to: no asset with id, native id or unique name {to:?}");
            };
            let paths = graph.attack_paths(target, limit);
            if json {
                println!("{}", serde_json::to_string_pretty(&paths)?);
            } else if paths.is_empty() {
                println!(
                    "no path from the internet reaches {} ({})",
                    target.name, target.resource_type
                );
            } else {
                let name = |id: &str| {
                    inventory
                        .assets
                        .iter()
                        .find(|a| a.id == id)
                        .map(|a| format!("{} ({})", a.name, a.resource_type))
                        .unwrap_or_else(|| id.to_string())
                };
                for (i, p) in paths.iter().enumerate() {
                    println!("path {} ({} hops):", i + 1, p.hops.len());
                    for h in &p.hops {
                        let from = if h.from == "internet" {
                            "internet".to_string()
                        } else {
                            name(&h.from)
                        };
                        println!("  {from} → {}: {}", name(&h.to), h.reason);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        GraphCommand::Neighbours { asset, depth, .. } => {
            let Some(start) = graph.find(&asset) else {
                bail!("no asset with id, native id or unique name {asset:?}");
            };
            let list = graph.neighbours(start, depth);
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for n in &list {
                    println!(
                        "{:>2}  {:<28} {:<40} via {} ({})",
                        n.distance, n.resource_type, n.name, n.via_kind, n.via_direction
                    );
                }
                eprintln!(
                    "{} assets within {depth} hop(s) of {}",
                    list.len(),
                    start.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
