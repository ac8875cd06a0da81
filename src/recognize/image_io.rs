//! Loading images for recognition: any common format and pixel type becomes 8-bit RGB; a
//! decode that would need more than [`MAX_DECODE_BYTES`] is refused before it allocates, large
//! images are scaled down, and a JPEG cut short is an error rather than a half-gray picture.

use std::path::Path;

use image::{DynamicImage, RgbImage, imageops::FilterType};

/// Longest side kept; larger images are scaled down to it (plates stay readable: a plate is
/// a few percent of the frame, and the detector sees 736 px anyway).
pub const MAX_SIDE: u32 = 4096;

/// The most memory one decode may take (the decoder checks the image's header against it
/// before allocating): 8000x8000 RGBA, far beyond any camera the console meets, and an
/// 11000x11000 image is refused instead of taking over a gigabyte.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// How far from its end a whole JPEG file has its end-of-image marker (some cameras pad
/// after it).
const JPEG_TAIL: usize = 1024;

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
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?;
    // The JPEG decoder fills a file cut short with gray and says nothing: a cut file has no
    // end-of-image marker (FF D9, which the coded data never contains) near its end.
    if reader.format() == Some(image::ImageFormat::Jpeg)
        && !bytes[bytes.len().saturating_sub(JPEG_TAIL)..].windows(2).any(|w| w == [0xFF, 0xD9])
    {
        return Err(unreadable("the JPEG file is cut short (no end-of-image marker)".into()));
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
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
    fn a_jpeg_cut_short_is_an_error_and_a_whole_one_reads() {
        let dir = tempfile::tempdir().unwrap();
        let jpg = dir.path().join("whole.jpg");
        let img = RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        img.save(&jpg).unwrap();
        assert_eq!(load_rgb(&jpg).unwrap().dimensions(), (320, 240));
        let bytes = std::fs::read(&jpg).unwrap();
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_rgb(&cut).unwrap_err().to_string();
        assert!(err.contains("cut.jpg") && err.contains("cut short"), "{err}");
    }

    /// A PNG that is only a header claiming `width` x `height` RGBA pixels, and no pixels.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        // An empty first data chunk: the decoder has read the whole header when it meets it.
        png.extend(0u32.to_be_bytes());
        png.extend(b"IDAT");
        png.extend(crc32(b"IDAT").to_be_bytes());
        png
    }

    #[test]
    fn an_image_too_large_to_decode_is_refused_before_it_allocates() {
        let dir = tempfile::tempdir().unwrap();
        let huge = dir.path().join("huge.png");
        // 11000 x 11000 RGBA would take 484 MB decoded.
        std::fs::write(&huge, png_header_only(11_000, 11_000)).unwrap();
        let err = load_rgb(&huge).unwrap_err().to_string();
        assert!(err.contains("huge.png") && err.to_lowercase().contains("limit"), "{err}");
    }

    #[test]
    fn huge_images_are_scaled_down() {
        let img = DynamicImage::ImageRgb8(RgbImage::new(MAX_SIDE * 2, 100));
        let out = to_rgb_bounded(img);
        assert_eq!(out.width(), MAX_SIDE);
        assert!(out.height() <= 100);
    }
}
