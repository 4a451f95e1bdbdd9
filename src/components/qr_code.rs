//! The QR code, drawn in the browser as SVG.
