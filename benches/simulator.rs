//! Simulator frame cost: renders 1280x720 frames (full bench) and reports milliseconds per
//! frame, the budget being 33 ms at 30 fps on one core shared with recognition.
//! `cargo bench --bench simulator`; run by `cargo test --all-targets` with a few small frames.

use std::time::Instant;

use patrol_alpr::camera::health::measure;
use patrol_alpr::camera::simulator::{Lighting, Simulator, SimulatorConfig};

fn main() {
    // Under `cargo bench` the harness passes --bench; otherwise this is the quick test run.
    let full = std::env::args().any(|a| a == "--bench");
    let (width, height, frames) = if full { (1280, 720, 900) } else { (320, 180, 10) };
    for lighting in [Lighting::Day, Lighting::NightIr] {
        let mut sim =
            Simulator::new(SimulatorConfig { width, height, lighting, realtime: false, ..SimulatorConfig::default() });
        // Warm up past the empty road at the start.
        for seq in 0..frames / 4 {
            sim.render(seq);
        }
        let start = Instant::now();
        let mut plates = 0;
        for seq in frames / 4..frames / 4 + frames {
            plates += sim.render(seq).1.plates.len();
        }
        let render_ms = start.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        let (img, _) = sim.render(0);
        let start = Instant::now();
        for _ in 0..frames.min(100) {
            std::hint::black_box(measure(&img));
        }
        let health_ms = start.elapsed().as_secs_f64() * 1000.0 / frames.min(100) as f64;
        println!(
            "simulator {width}x{height} {lighting:?}: render {render_ms:.2} ms/frame ({:.1} plates/frame), health check {health_ms:.2} ms/frame",
            plates as f64 / frames as f64
        );
    }
}
