//! Look of the charts: the embedded font, the colour-blind-safe palette and the marker shapes.
//!
//! Colours follow Okabe & Ito (2008), safe for the common colour-vision deficiencies; every
//! series also carries its own marker shape so the charts still read in greyscale. An init keeps
//! the same colour and marker in every chart of a results folder (its index in the sweep order).

use plotters::style::{FontDesc, FontFamily, FontStyle, RGBColor};

/// Font family written into the SVG text (browsers without DejaVu fall back to their sans-serif).
pub const FONT: &str = "DejaVu Sans, sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Register the bundled DejaVu Sans with plotters (once per process), so text is laid out and
/// rasterised from the embedded font and no system font is ever looked up.
pub fn register_fonts() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        let mut ok = true;
        for name in [FONT, "sans-serif"] {
            ok &= plotters::style::register_font(name, FontStyle::Normal, DEJAVU_SANS).is_ok();
            ok &= plotters::style::register_font(name, FontStyle::Bold, DEJAVU_SANS_BOLD).is_ok();
        }
        ok
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "the embedded DejaVu Sans font could not be loaded"
        ))
    }
}

pub fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal)
}

pub fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold)
}

/// Okabe–Ito, ordered for contrast on white (yellow last).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// Viridis samples, dark to light (the lightest darkened to stay readable on white): for ordered series (layers), monotone in lightness so they
/// also read in greyscale.
pub const SEQUENTIAL: [RGBColor; 7] = [
    RGBColor(68, 1, 84),
    RGBColor(70, 51, 127),
    RGBColor(54, 92, 141),
    RGBColor(39, 127, 142),
    RGBColor(31, 161, 135),
    RGBColor(74, 194, 109),
    RGBColor(122, 190, 40),
];

pub const GREY: RGBColor = RGBColor(110, 110, 110);
pub const GRID: RGBColor = RGBColor(226, 226, 226);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    OpenCircle,
    OpenSquare,
    OpenTriangle,
    Cross,
}

pub const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::OpenCircle,
    Marker::OpenSquare,
    Marker::OpenTriangle,
    Marker::Cross,
];

/// Colour and marker of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesStyle {
    pub color: RGBColor,
    pub marker: Marker,
}

impl SeriesStyle {
    /// The style of the `i`-th init (sweep order).
    pub fn init(i: usize) -> SeriesStyle {
        SeriesStyle {
            color: PALETTE[i % PALETTE.len()],
            marker: MARKERS[i % MARKERS.len()],
        }
    }

    /// The style of the `i`-th of `n` ordered items (histogram layers).
    pub fn ordered(i: usize, n: usize) -> SeriesStyle {
        let k = if n <= 1 {
            0
        } else {
            (i * (SEQUENTIAL.len() - 1) + (n - 1) / 2) / (n - 1)
        };
        SeriesStyle {
            color: SEQUENTIAL[k.min(SEQUENTIAL.len() - 1)],
            marker: MARKERS[i % MARKERS.len()],
        }
    }
}

/// Hex colour for HTML.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}
