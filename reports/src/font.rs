//! Text in the PNG plots: DejaVu Sans embedded in the binary (the `dejavu` crate) and
//! rasterised with ab_glyph, so text renders the same on a machine with no system fonts
//! and a PNG is the same bytes everywhere.
//!
//! Why not plotters' own `ab_glyph` text renderer (`register_font`)? In plotters 0.3.7 it
//! drops each glyph's left side bearing and rounds the pen to whole pixels, so letters
//! crowd ("rn" reads as "m"). [`Label`] is a plotters element that places every glyph at
//! its exact (sub-pixel) position instead; the plots draw all their text with it, so
//! plotters is built without any font feature.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::{Color, RGBColor};
use plotters_backend::{BackendCoord, DrawingBackend, DrawingErrorKind};

/// Where a label's anchor point is, along its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// A line of text at a point, vertically centred on it, optionally offset by whole pixels,
/// bold, or turned to read upwards (a y axis description).
#[derive(Clone, Debug)]
pub struct Label<C> {
    pub at: C,
    pub text: String,
    pub size: f32,
    pub color: RGBColor,
    pub anchor: Anchor,
    pub bold: bool,
    pub upwards: bool,
    pub offset: (i32, i32),
}

impl<C> Label<C> {
    /// Dark grey regular text of `size` pixels, starting at `at`.
    pub fn new(at: C, text: impl Into<String>, size: f32) -> Label<C> {
        Label {
            at,
            text: text.into(),
            size,
            color: RGBColor(0x2a, 0x2f, 0x3a),
            anchor: Anchor::Start,
            bold: false,
            upwards: false,
            offset: (0, 0),
        }
    }

    pub fn anchor(self, anchor: Anchor) -> Self {
        Label { anchor, ..self }
    }

    pub fn color(self, color: RGBColor) -> Self {
        Label { color, ..self }
    }

    pub fn bold(self) -> Self {
        Label { bold: true, ..self }
    }

    pub fn upwards(self) -> Self {
        Label { upwards: true, ..self }
    }

    pub fn offset(self, dx: i32, dy: i32) -> Self {
        Label { offset: (dx, dy), ..self }
    }
}

/// The width in pixels of `text` at `size`.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    layout(face(bold), text, size).1
}

impl<'a, C: 'a> PointCollection<'a, C> for &'a Label<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;

    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Label<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = points.next() else { return Ok(()) };
        let (x, y) = (x + self.offset.0, y + self.offset.1);
        let font = face(self.bold);
        let (glyphs, width) = layout(font, &self.text, self.size);
        let shift = match self.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -width / 2.0,
            Anchor::End => -width,
        };
        let scaled = font.as_scaled(PxScale::from(self.size));
        let baseline = (scaled.ascent() + scaled.descent()) / 2.0;
        let mut result = Ok(());
        for mut glyph in glyphs {
            glyph.position.x += shift;
            glyph.position.y += baseline;
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (tx, ty) = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                let (dx, dy) = if self.upwards { (ty, -tx) } else { (tx, ty) };
                let pixel =
                    backend.draw_pixel((x + dx, y + dy), self.color.mix(f64::from(coverage)).to_backend_color());
                if result.is_ok() {
                    result = pixel;
                }
            });
        }
        result
    }
}

/// The glyphs of `text` laid out on a baseline at y = 0, with kerning, and the advance width.
fn layout(font: &FontRef<'static>, text: &str, size: f32) -> (Vec<Glyph>, f32) {
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(pen, 0.0)));
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// The embedded DejaVu Sans, regular or bold, parsed once.
fn face(bold: bool) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = if bold { (&BOLD, dejavu::sans::bold()) } else { (&REGULAR, dejavu::sans::regular()) };
    cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("the embedded DejaVu Sans is a valid font"))
}
