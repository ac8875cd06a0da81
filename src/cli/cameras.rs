//! The `cameras` command: lists the cameras on this machine with their formats and sizes.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::camera::live::list_cameras;

/// Options of `cameras`.
#[derive(Debug, clap::Args)]
pub struct CamerasArgs {
    /// Print one JSON object per camera instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cameras`.
pub fn run(_ctx: &Context, args: &CamerasArgs) -> anyhow::Result<ExitCode> {
    let cameras = list_cameras().context("listing cameras")?;
    if args.json {
        for camera in &cameras {
            println!("{}", serde_json::to_string(camera)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cameras.is_empty() {
        println!("no cameras found; `run` uses the traffic simulator (--source sim)");
        return Ok(ExitCode::SUCCESS);
    }
    for camera in &cameras {
        println!("{}  {}  ({})", camera.index, camera.name, camera.description);
        if let Some(error) = &camera.error {
            println!("    formats unknown: {error}");
        }
        // One line per pixel format: its sizes, each with its frame rates.
        let mut formats: Vec<&str> = camera.modes.iter().map(|m| m.format.as_str()).collect();
        formats.dedup();
        for format in formats {
            let mut sizes: Vec<String> = Vec::new();
            for mode in camera.modes.iter().filter(|m| m.format == format) {
                let size = format!("{}x{}", mode.width, mode.height);
                match sizes.iter_mut().find(|s| s.starts_with(&format!("{size}@"))) {
                    Some(entry) => entry.push_str(&format!(",{}", mode.fps)),
                    None => sizes.push(format!("{size}@{}", mode.fps)),
                }
            }
            println!("    {format}: {}", sizes.join(" "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
