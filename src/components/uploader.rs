//! Uploads from the Content page: each file is its own request
//! (`POST /api/v1/content`, multipart) so each gets its own progress bar and
//! its own answer. The item itself arrives on the stream like any change.
//! Uploads need the network: files are not kept in the outbox, and a failed
//! one says so and can simply be chosen again.

use leptos::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UploadState {
    Uploading,
    Done,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: u64,
    pub name: String,
    pub size: f64,
    pub sent: f64,
    pub state: UploadState,
}

impl Upload {
    pub fn percent(&self) -> u32 {
        if self.state == UploadState::Done {
            return 100;
        }
        if self.size <= 0.0 {
            return 0;
        }
        ((self.sent / self.size) * 100.0).clamp(0.0, 100.0) as u32
    }
}

#[derive(Clone, Copy)]
pub struct Uploads {
    pub list: RwSignal<Vec<Upload>>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    next: StoredValue<u64>,
}

impl Default for Uploads {
    fn default() -> Self {
        Self {
            list: RwSignal::new(Vec::new()),
            next: StoredValue::new(0),
        }
    }
}

impl Uploads {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn update(&self, id: u64, f: impl FnOnce(&mut Upload)) {
        self.list.update(|l| {
            if let Some(u) = l.iter_mut().find(|u| u.id == id) {
                f(u);
            }
        });
    }

    /// Clears finished uploads from the list (the failed ones stay until dismissed).
    pub fn clear_done(&self) {
        self.list
            .update(|l| l.retain(|u| u.state != UploadState::Done));
    }

    pub fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|u| u.id != id));
    }

    #[cfg(feature = "hydrate")]
    pub fn start(&self, files: web_sys::FileList) {
        for i in 0..files.length() {
            if let Some(file) = files.get(i) {
                self.send(file);
            }
        }
    }

    #[cfg(feature = "hydrate")]
    fn send(&self, file: web_sys::File) {
        use wasm_bindgen::{closure::Closure, JsCast};

        let id = self.next.get_value() + 1;
        self.next.set_value(id);
        self.list.update(|l| {
            l.push(Upload {
                id,
                name: file.name(),
                size: file.size(),
                sent: 0.0,
                state: UploadState::Uploading,
            })
        });
        let this = *self;
        let fail =
            move |message: String| this.update(id, |u| u.state = UploadState::Failed(message));
        let started = (|| -> Result<(), wasm_bindgen::JsValue> {
            let xhr = web_sys::XmlHttpRequest::new()?;
            xhr.open("POST", "/api/v1/content")?;
            // A retried request (the browser's, or ours) makes the item once.
            xhr.set_request_header("Idempotency-Key", &crate::sync::platform::new_op_id())?;
            let form = web_sys::FormData::new()?;
            form.append_with_blob_and_filename("file", &file, &file.name())?;
            let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(
                move |e: web_sys::ProgressEvent| {
                    if e.length_computable() {
                        this.update(id, |u| {
                            u.sent = e.loaded();
                            u.size = e.total().max(u.size);
                        });
                    }
                },
            );
            xhr.upload()?
                .set_onprogress(Some(progress.as_ref().unchecked_ref()));
            // Lives as long as the request; a few bytes per upload.
            progress.forget();
            let done = xhr.clone();
            let on_load = Closure::once_into_js(move || {
                let status = done.status().unwrap_or(0);
                if status == 201 {
                    this.update(id, |u| u.state = UploadState::Done);
                } else {
                    let text = done.response_text().ok().flatten().unwrap_or_default();
                    let message = serde_json::from_str::<crate::error::AppError>(&text)
                        .map(|e| e.to_string())
                        .unwrap_or_else(|_| format!("The upload failed (HTTP {status})."));
                    fail(message);
                }
            });
            xhr.set_onload(Some(on_load.unchecked_ref()));
            let on_error = Closure::once_into_js(move || {
                fail("The server could not be reached. Uploads need a connection: choose the file again when online.".into());
            });
            xhr.set_onerror(Some(on_error.unchecked_ref()));
            xhr.send_with_opt_form_data(Some(&form))?;
            Ok(())
        })();
        if started.is_err() {
            fail("The browser could not start this upload.".into());
        }
    }
}

/// The progress list under the drop zone.
#[component]
pub fn UploadList(uploads: Uploads) -> impl IntoView {
    view! {
        <Show when=move || uploads.list.with(|l| !l.is_empty())>
            <ul class="uploads" aria-label="Uploads">
                <For each=move || uploads.list.get() key=|u| (u.id, u.percent(), u.state.clone()) let:u>
                    {
                        let id = u.id;
                        let label = format!("Uploading {}", u.name);
                        view! {
                            <li class="upload" data-state=match &u.state {
                                UploadState::Uploading => "uploading",
                                UploadState::Done => "done",
                                UploadState::Failed(_) => "failed",
                            }>
                                <span class="upload-name">{u.name.clone()}</span>
                                <progress max="100" value=u.percent() aria-label=label></progress>
                                {match u.state.clone() {
                                    UploadState::Uploading => view! { <span class="muted">{format!("{} %", u.percent())}</span> }.into_any(),
                                    UploadState::Done => view! { <span class="ok">"Uploaded"</span> }.into_any(),
                                    UploadState::Failed(message) => view! {
                                        <span class="form-error" role="alert">{message}</span>
                                        <button type="button" class="button ghost" on:click=move |_| uploads.dismiss(id)>"Dismiss"</button>
                                    }.into_any(),
                                }}
                            </li>
                        }
                    }
                </For>
            </ul>
            <button type="button" class="button ghost" on:click=move |_| uploads.clear_done()>"Clear finished"</button>
        </Show>
    }
}
