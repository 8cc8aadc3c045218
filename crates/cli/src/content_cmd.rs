//! `rampart controls …` and `rampart frameworks …`: the content, its fixtures and its coverage.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use rampart_model::{Control, Provider};
use rampart_rules::coverage;

#[derive(Args, Debug)]
pub struct ContentArgs {
    /// Directory (or file) of additional control and framework YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ControlsCommand {
    /// List the loaded controls.
    List {
        #[command(flatten)]
        content: ContentArgs,
        /// Only controls mapped to this framework.
        #[arg(long, value_name = "ID")]
        framework: Option<String>,
        /// Only controls for this provider (aws, gcp, azure).
        #[arg(long, value_name = "PROVIDER")]
        provider: Option<String>,
    },
    /// Show one control: rationale, remediation, mappings and condition.
    Show {
        /// Control id.
        id: String,
        #[command(flatten)]
        content: ContentArgs,
    },
    /// Evaluate every control's pass and fail fixtures; exit 1 if any disagrees.
    Test(ContentArgs),
    /// Coverage of a framework by controls, or of a reference catalogue; exit 1 if anything is missing.
    Coverage {
        #[command(flatten)]
        content: ContentArgs,
        /// Framework id (automated / manual / missing requirements).
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "reference",
            conflicts_with = "reference"
        )]
        framework: Option<String>,
        /// Reference catalogue (covered / documented-uncovered / missing slugs).
        #[arg(long, value_name = "NAME", value_parser = ["cyscale"])]
        reference: Option<String>,
        /// Provider of the reference controls to compare.
        #[arg(long, default_value = "aws", value_name = "PROVIDER")]
        provider: String,
        /// Where the reference catalogue lives.
        #[arg(
            long,
            env = "RAMPART_REFERENCE_DIR",
            default_value = "../shared/reference/cyscale-grc-cms",
            value_name = "DIR"
        )]
        reference_dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum FrameworksCommand {
    /// List frameworks with their requirement counts.
    List(ContentArgs),
    /// Show a framework's requirements and the controls mapped to each.
    Show {
        /// Framework id.
        id: String,
        #[command(flatten)]
        content: ContentArgs,
    },
}

pub fn controls(cmd: ControlsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ControlsCommand::List {
            content,
            framework,
            provider,
        } => list(content, framework, provider),
        ControlsCommand::Show { id, content } => show(&id, content),
        ControlsCommand::Test(content) => test(content),
        ControlsCommand::Coverage {
            content,
            framework,
            reference,
            provider,
            reference_dir,
        } => coverage_cmd(content, framework, reference, &provider, &reference_dir),
    }
}

fn list(
    args: ContentArgs,
    framework: Option<String>,
    provider: Option<String>,
) -> anyhow::Result<ExitCode> {
    let catalog = crate::load_catalog(&args.controls)?;
    if let Some(fw) = &framework
        && catalog.framework(fw).is_none()
    {
        bail!("--framework: unknown framework {fw:?}");
    }
    let provider: Option<Provider> = provider
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow!("--provider: {e}"))?;
    let selected: Vec<&Control> = catalog
        .controls()
        .filter(|c| {
            framework
                .as_ref()
                .is_none_or(|fw| c.frameworks.iter().any(|r| &r.framework == fw))
        })
        .filter(|c| provider.is_none_or(|p| c.resource_types.iter().any(|t| t.provider() == p)))
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&selected)?);
    } else {
        for c in &selected {
            let types: Vec<&str> = c.resource_types.iter().map(|t| t.as_str()).collect();
            println!(
                "{:<9} {:<48} {} [{}]",
                c.severity,
                c.id,
                c.title,
                types.join(", ")
            );
        }
        eprintln!("{} of {} controls", selected.len(), catalog.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn show(id: &str, args: ContentArgs) -> anyhow::Result<ExitCode> {
    let catalog = crate::load_catalog(&args.controls)?;
    let Some(c) = catalog.control(id) else {
        bail!("unknown control {id:?} (see `rampart controls list`)");
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(c)?);
        return Ok(ExitCode::SUCCESS);
    }
    let types: Vec<&str> = c.resource_types.iter().map(|t| t.as_str()).collect();
    println!("{} — {}", c.id, c.title);
    println!("severity:   {}", c.severity);
    println!("resources:  {}", types.join(", "));
    println!("source:     {}", c.source);
    if !c.frameworks.is_empty() {
        let refs: Vec<String> = c
            .frameworks
            .iter()
            .map(|r| format!("{} {}", r.framework, r.requirement))
            .collect();
        println!("frameworks: {}", refs.join(", "));
    }
    for (catalogue, ids) in &c.cross_references {
        println!("see also:   {catalogue}: {}", ids.join(", "));
    }
    println!("\nWhy it matters\n{}", c.rationale.trim_end());
    println!("\nHow to fix it\n{}", c.remediation.trim_end());
    if !c.references.is_empty() {
        println!("\nReferences");
        for r in &c.references {
            println!("- {r}");
        }
    }
    if let Some(pre) = &c.applies_if {
        println!("\nApplies if (CEL)\n{}", pre.trim_end());
    }
    println!("\nCondition (CEL)\n{}", c.condition.trim_end());
    Ok(ExitCode::SUCCESS)
}

fn test(args: ContentArgs) -> anyhow::Result<ExitCode> {
    let catalog = crate::load_catalog(&args.controls)?;
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

fn coverage_cmd(
    args: ContentArgs,
    framework: Option<String>,
    reference: Option<String>,
    provider: &str,
    reference_dir: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let catalog = crate::load_catalog(&args.controls)?;
    if let Some(fw) = framework {
        let cov = coverage::framework_coverage(&catalog, &fw)
            .ok_or_else(|| anyhow!("--framework: unknown framework {fw:?}"))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&cov)?);
        } else {
            println!(
                "{}: {} automated, {} manual, {} missing",
                cov.framework_id,
                cov.automated.len(),
                cov.manual.len(),
                cov.missing.len()
            );
            for m in &cov.missing {
                println!("missing: {m}");
            }
        }
        return Ok(if cov.missing.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let reference = reference.unwrap_or_default();
    if reference != "cyscale" {
        bail!("--reference: unknown reference catalogue {reference:?} (known: cyscale)");
    }
    let cov = coverage::cyscale_coverage(
        &catalog,
        reference_dir,
        provider,
        rampart_rules::builtin::coverage_doc(),
    )
    .map_err(|e| anyhow!("--reference-dir: {e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cov)?);
    } else {
        println!(
            "cyscale {provider}: {} enabled controls — {} covered ({:.1} %), {} documented as not covered yet, {} missing",
            cov.total(),
            cov.covered.len(),
            cov.covered_percent(),
            cov.documented.len(),
            cov.missing.len()
        );
        for m in &cov.missing {
            println!("missing: {m}");
        }
    }
    Ok(if cov.missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn frameworks(cmd: FrameworksCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FrameworksCommand::List(args) => {
            let catalog = crate::load_catalog(&args.controls)?;
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
                    "{:<32} {} {} ({} requirements, {} with controls, {} manual)",
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
        FrameworksCommand::Show { id, content } => {
            let catalog = crate::load_catalog(&content.controls)?;
            let fw = catalog.framework(&id).ok_or_else(|| {
                anyhow!("unknown framework {id:?} (see `rampart frameworks list`)")
            })?;
            if content.json {
                println!("{}", serde_json::to_string_pretty(fw)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} — {} {}", fw.id, fw.name, fw.version);
            for r in &fw.requirements {
                let mark = if r.manual {
                    "manual".to_string()
                } else if r.controls.is_empty() {
                    "no control".to_string()
                } else {
                    r.controls.join(", ")
                };
                println!("{:<10} {} [{mark}]", r.id, r.title);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
