//! The screenshot a `Screenshot` command asks for.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// What the screen shows, drawn into a canvas at most 640 px wide, as a
/// JPEG data URL. Images and videos are drawn as shown (letterboxed, like
/// the stage); a web page cannot be read back from its frame, so its
/// address is written instead; with no slide, the page's own text.
pub(super) fn capture() -> Option<String> {
    use web_sys::{
        CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement, HtmlIFrameElement,
        HtmlImageElement, HtmlVideoElement,
    };
    let win = window();
    let doc = win.document()?;
    let w = win.inner_width().ok()?.as_f64()?.max(1.0);
    let h = win.inner_height().ok()?.as_f64()?.max(1.0);
    let scale = (640.0 / w).min(1.0);
    let (cw, ch) = ((w * scale).round(), (h * scale).round());
    let canvas: HtmlCanvasElement = doc.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(cw as u32);
    canvas.set_height(ch as u32);
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.set_fill_style_str("#000");
    ctx.fill_rect(0.0, 0.0, cw, ch);
    let fit = |iw: f64, ih: f64| {
        let s = (cw / iw.max(1.0)).min(ch / ih.max(1.0));
        let (dw, dh) = (iw * s, ih * s);
        ((cw - dw) / 2.0, (ch - dh) / 2.0, dw, dh)
    };
    let text = |lines: &[String]| {
        ctx.set_fill_style_str("#e6edf3");
        ctx.set_font("20px sans-serif");
        ctx.set_text_align("center");
        let top = ch / 2.0 - (lines.len() as f64 - 1.0) * 14.0;
        for (i, line) in lines.iter().enumerate() {
            let _ = ctx.fill_text(line, cw / 2.0, top + i as f64 * 28.0);
        }
    };
    let slide = doc.query_selector(".slide").ok().flatten();
    if let Some(img) = slide.as_ref().and_then(|e| e.dyn_ref::<HtmlImageElement>()) {
        let (x, y, dw, dh) = fit(img.natural_width() as f64, img.natural_height() as f64);
        ctx.draw_image_with_html_image_element_and_dw_and_dh(img, x, y, dw, dh)
            .ok()?;
    } else if let Some(video) = slide.as_ref().and_then(|e| e.dyn_ref::<HtmlVideoElement>()) {
        let (x, y, dw, dh) = fit(video.video_width() as f64, video.video_height() as f64);
        ctx.draw_image_with_html_video_element_and_dw_and_dh(video, x, y, dw, dh)
            .ok()?;
    } else if let Some(frame) = slide
        .as_ref()
        .and_then(|e| e.dyn_ref::<HtmlIFrameElement>())
    {
        text(&["Web page".to_string(), frame.src()]);
    } else {
        let shown = doc
            .query_selector(".player")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            .map(|e| e.inner_text())
            .unwrap_or_default();
        let lines: Vec<String> = shown
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(6)
            .map(str::to_string)
            .collect();
        text(&lines);
    }
    canvas
        .to_data_url_with_type_and_encoder_options(
            "image/jpeg",
            &wasm_bindgen::JsValue::from_f64(0.8),
        )
        .ok()
}
