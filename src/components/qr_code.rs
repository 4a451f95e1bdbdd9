//! The QR code of an authenticator key, drawn in the browser.
//!
//! Serves the enrollment view. Kaltura has a third-party web service draw its
//! QR codes, which therefore sees every secret; here the `qrcode` crate
//! encodes the otpauth URI into modules and we draw them as one SVG path, so
//! the secret never leaves the browser.
//!
//! The image always has its own white background and a 4-module quiet zone,
//! dark modules on white, whatever the page's colour scheme: phone cameras
//! and scanner libraries read dark-on-light codes most reliably, and a dark
//! page edge right against the code defeats them.
//!
//! Also serves a real Kaltura's reply, base64 PNG bytes, through [`QrPng`].

use leptos::prelude::*;

use crate::i18n::Text;
use qrcode::{Color, EcLevel, QrCode as Encoder};

/// Light modules around the code, as the QR specification requires.
pub const QUIET_ZONE: usize = 4;

/// The drawn size of the code in CSS pixels (at least 200, so phones focus on
/// it easily; CSS may shrink it on narrow screens but never below 200).
pub const DISPLAY_SIZE_PX: u32 = 240;

/// A QR code ready to draw: its size in modules (quiet zone included) and the
/// SVG path data covering exactly the dark modules, one unit per module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrDrawing {
    /// Width and height in modules, quiet zone included.
    pub size: usize,
    /// Which modules are dark, row by row, quiet zone included.
    pub dark: Vec<Vec<bool>>,
    /// SVG path data: one `M x y h n v 1 h -n z` rectangle per horizontal
    /// run of dark modules.
    pub path: String,
}

/// Encodes `text` (medium error correction: enough for a slightly creased
/// printout, small enough for a dense otpauth URI) and lays it out with its
/// quiet zone.
pub fn draw(text: &str) -> Result<QrDrawing, qrcode::types::QrError> {
    let code = Encoder::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut dark = vec![vec![false; size]; size];
    for (index, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            dark[index / width + QUIET_ZONE][index % width + QUIET_ZONE] = true;
        }
    }
    let mut path = String::new();
    for (y, row) in dark.iter().enumerate() {
        let mut x = 0;
        while x < size {
            if row[x] {
                let start = x;
                while x < size && row[x] {
                    x += 1;
                }
                let run = x - start;
                path.push_str(&format!("M{start} {y}h{run}v1h-{run}z"));
            } else {
                x += 1;
            }
        }
    }
    Ok(QrDrawing { size, dark, path })
}

/// The QR code of `text`, as an accessible SVG image.
///
/// When the text cannot be encoded (far too long), says so instead: the
/// enrollment view still offers the manual key.
#[component]
pub fn QrCode(
    /// What to encode: the `otpauth://` URI. Held only in memory.
    text: String,
    /// What the image is and for which account, read by screen readers.
    label: Text,
) -> impl IntoView {
    let drawing = draw(&text);
    view! {
        <div class="qr-code" data-testid="qr-code">
            {match drawing {
                Ok(drawing) => {
                    let size = drawing.size;
                    view! {
                        <svg
                            xmlns="http://www.w3.org/2000/svg"
                            role="img"
                            aria-label=label.signal()
                            width=DISPLAY_SIZE_PX
                            height=DISPLAY_SIZE_PX
                            viewBox=format!("0 0 {size} {size}")
                            shape-rendering="crispEdges"
                        >
                            <rect x="0" y="0" width=size height=size fill="#ffffff"></rect>
                            <path d=drawing.path fill="#000000"></path>
                        </svg>
                    }
                        .into_any()
                }
                Err(_) => {
                    view! {
                        <p class="qr-error">
                            {crate::i18n::t("qr.too-long")}
                        </p>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// A QR code a server already drew: base64 PNG bytes, as a real Kaltura's
/// `user.generateQrCode` returns them.
#[component]
pub fn QrPng(
    /// The PNG bytes, base64 (a `data:` prefix is tolerated).
    base64: String,
    /// What the image is and for which account.
    label: Text,
) -> impl IntoView {
    let payload = base64
        .strip_prefix("data:image/png;base64,")
        .unwrap_or(&base64)
        .to_owned();
    view! {
        <div class="qr-code" data-testid="qr-code">
            <img
                src=format!("data:image/png;base64,{payload}")
                alt=label.signal()
                width=DISPLAY_SIZE_PX
                height=DISPLAY_SIZE_PX
            />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/Kaltura:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaltura&algorithm=SHA1&digits=6&period=30";

    #[test]
    fn the_drawing_has_a_four_module_light_quiet_zone_on_every_side() {
        let drawing = draw(URI).unwrap();
        let n = drawing.size;
        for i in 0..n {
            for q in 0..QUIET_ZONE {
                assert!(!drawing.dark[q][i], "top row {q} col {i}");
                assert!(!drawing.dark[n - 1 - q][i], "bottom row {q} col {i}");
                assert!(!drawing.dark[i][q], "left col {q} row {i}");
                assert!(!drawing.dark[i][n - 1 - q], "right col {q} row {i}");
            }
        }
    }

    #[test]
    fn the_finder_patterns_sit_just_inside_the_quiet_zone() {
        let drawing = draw(URI).unwrap();
        let n = drawing.size;
        let q = QUIET_ZONE;
        // Each finder pattern's outer ring starts right after the quiet zone:
        // top-left, top-right and bottom-left corners are dark.
        assert!(drawing.dark[q][q]);
        assert!(drawing.dark[q][n - 1 - q]);
        assert!(drawing.dark[n - 1 - q][q]);
        // ... and the bottom-right corner, which has no finder, is not a 7x7 ring.
        assert_eq!((n - 2 * q - 17) % 4, 0, "a QR code is 17 + 4k modules wide");
    }

    #[test]
    fn the_path_covers_exactly_the_dark_modules() {
        let drawing = draw(URI).unwrap();
        let mut covered = vec![vec![false; drawing.size]; drawing.size];
        for rect in drawing.path.split('z').filter(|r| !r.is_empty()) {
            // "M{x} {y}h{run}v1h-{run}"
            let rest = rect.strip_prefix('M').unwrap();
            let (x, rest) = rest.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let run = rest.split_once('v').unwrap().0;
            let (x, y, run): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), run.parse().unwrap());
            for cell in &mut covered[y][x..x + run] {
                assert!(!*cell, "drawn twice");
                *cell = true;
            }
        }
        assert_eq!(covered, drawing.dark);
    }

    #[test]
    fn the_same_text_always_draws_the_same_code() {
        assert_eq!(draw(URI).unwrap(), draw(URI).unwrap());
        assert_ne!(
            draw(URI).unwrap(),
            draw("otpauth://totp/x?secret=JBSWY3DP").unwrap()
        );
    }

    #[test]
    fn text_too_long_for_any_qr_code_is_an_error_not_a_panic() {
        assert!(draw(&"A".repeat(5000)).is_err());
    }
}
