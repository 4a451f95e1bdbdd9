//! Decoding a QR code from a WebDriver screenshot (PNG bytes), the way a phone
//! camera reads the screen: if the page draws a wrong or unreadable code, the
//! decode fails.

/// White margin added around the screenshot, so a QR code touching the edge of
/// an element screenshot still has a quiet zone for the detector.
const MARGIN: u32 = 32;

/// The text of the first readable QR code in a PNG screenshot, if any.
pub fn decode_png(png: &[u8]) -> Option<String> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("WebDriver screenshots are PNG")
        .to_luma8();
    let (w, h) = image.dimensions();
    let (pw, ph) = (w + 2 * MARGIN, h + 2 * MARGIN);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(pw as usize, ph as usize, |x, y| {
            let (x, y) = (x as u32, y as u32);
            if x < MARGIN || y < MARGIN || x >= w + MARGIN || y >= h + MARGIN {
                255
            } else {
                image.get_pixel(x - MARGIN, y - MARGIN).0[0]
            }
        });
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}
