//! Loading images for recognition: any common format and pixel type becomes 8-bit RGB, and
//! huge images are scaled down so one photo cannot exhaust memory or time.

use std::path::Path;

use image::{DynamicImage, RgbImage, imageops::FilterType};

/// Longest side kept; larger images are scaled down to it (plates stay readable: a plate is
/// a few percent of the frame, and the detector sees 736 px anyway).
pub const MAX_SIDE: u32 = 4096;

/// Why an image could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Unreadable, truncated or not an image.
    #[error("cannot read image {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The decoder's explanation.
        reason: String,
    },
}

/// Loads an image file as 8-bit RGB (gray, 16-bit and alpha images are converted; alpha is
/// dropped), scaled down to [`MAX_SIDE`] if larger.
pub fn load_rgb(path: &Path) -> Result<RgbImage, ImageError> {
    let unreadable = |reason: String| ImageError::Unreadable { path: path.display().to_string(), reason };
    let reader = image::ImageReader::open(path).map_err(|e| unreadable(e.to_string()))?;
    let reader = reader.with_guessed_format().map_err(|e| unreadable(e.to_string()))?;
    let img = reader.decode().map_err(|e| unreadable(e.to_string()))?;
    Ok(to_rgb_bounded(img))
}

/// Converts a decoded image to RGB, scaled down to [`MAX_SIDE`] if larger.
pub fn to_rgb_bounded(img: DynamicImage) -> RgbImage {
    let img = if img.width().max(img.height()) > MAX_SIDE {
        img.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle)
    } else {
        img
    };
    img.to_rgb8()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgba};

    #[test]
    fn gray_sixteen_bit_and_alpha_pngs_load_as_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let g16 = dir.path().join("g16.png");
        ImageBuffer::<Luma<u16>, Vec<u16>>::from_pixel(5, 3, Luma([65535])).save(&g16).unwrap();
        let la = dir.path().join("la.png");
        ImageBuffer::<LumaA<u8>, Vec<u8>>::from_pixel(5, 3, LumaA([100, 0])).save(&la).unwrap();
        let rgba = dir.path().join("rgba.png");
        ImageBuffer::<Rgba<u8>, Vec<u8>>::from_pixel(5, 3, Rgba([1, 2, 3, 4])).save(&rgba).unwrap();
        assert_eq!(load_rgb(&g16).unwrap().get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(load_rgb(&la).unwrap().get_pixel(4, 2).0, [100, 100, 100]);
        assert_eq!(load_rgb(&rgba).unwrap().dimensions(), (5, 3));
    }

    #[test]
    fn truncated_and_garbage_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("ok.png");
        RgbImage::from_pixel(64, 64, image::Rgb([9, 9, 9])).save(&png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        let cut = dir.path().join("cut.png");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let junk = dir.path().join("junk.jpg");
        std::fs::write(&junk, b"definitely not a jpeg").unwrap();
        for bad in [cut, junk, dir.path().join("missing.png")] {
            let err = load_rgb(&bad).unwrap_err().to_string();
            assert!(err.contains(&bad.display().to_string()), "{err}");
        }
    }

    #[test]
    fn huge_images_are_scaled_down() {
        let img = DynamicImage::ImageRgb8(RgbImage::new(MAX_SIDE * 2, 100));
        let out = to_rgb_bounded(img);
        assert_eq!(out.width(), MAX_SIDE);
        assert!(out.height() <= 100);
    }
}
