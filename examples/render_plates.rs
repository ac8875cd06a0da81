//! Writes plates in the simulator's built-in state styles as PNGs, for training the state
//! classifier (`training/train_state.py --rendered DIR`): `CODE_N.png`, random texts and
//! widths, reproducible from the seed.
//!
//! `cargo run --release --example render_plates -- OUT_DIR COUNT_PER_STATE [SEED]`

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use patrol_alpr::camera::simulator::random_plate;
use patrol_alpr::render::{PlateStyle, render_plate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(count)) = (args.first(), args.get(1)) else {
        return Err("usage: render_plates OUT_DIR COUNT_PER_STATE [SEED]".into());
    };
    let count: usize = count.parse()?;
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    std::fs::create_dir_all(out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for style in PlateStyle::all() {
        for i in 0..count {
            let text = random_plate(&mut rng);
            let width = rng.random_range(96..=400);
            let plate = render_plate(&style, &text, width)?;
            plate.save(std::path::Path::new(out).join(format!("{}_{i}.png", style.code)))?;
        }
    }
    Ok(())
}
