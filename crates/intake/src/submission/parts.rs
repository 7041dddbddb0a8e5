//! Reading a submission's parts: the answers, the CSRF token, and each evidence file,
//! streamed into a sealed temporary blob as it arrives.

use actix_multipart::{Field, Multipart};
use bytes::Bytes;
use redress_crypto::PublicKey;
use redress_domain::RawAnswers;
use redress_web::CsrfCheck;

use super::pace::Pace;
use super::{Kept, Mode, SubmitError};
use crate::IntakeState;
use crate::admission::Slot;
use crate::evidence::{EvidenceWriter, SealedFile};

/// The field a person cannot see and a form-filling robot tends to fill.
pub(super) const HONEYPOT_FIELD: &str = "website";

/// Bytes a JSON-escaped character can take (`\uXXXX`), for the API's `report` part.
const JSON_BYTES_PER_CHAR: usize = 6;
/// UTF-8 bytes a character can take; also covers a newline sent as CRLF.
const UTF8_BYTES_PER_CHAR: usize = 4;
/// Free space is checked again after this many bytes of one file.
const DISK_CHECK_BYTES: u64 = 8 * 1024 * 1024;
/// After a refusal, read at most this much more: enough to reach the text that follows
/// the files in a form, and for the browser to see the answer rather than a reset.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;

/// Largest JSON `report` part the API reads: every answer at its bound, each character
/// JSON-escaped (`\uXXXX`), and room for the keys and the choices. The OpenAPI document
/// states this same figure.
pub(crate) fn report_part_max_bytes(q: &redress_domain::Questionnaire) -> usize {
    let l = q.limits();
    let chars = l.what_happened_chars + 4 * l.short_text_chars + l.contact_chars;
    chars * JSON_BYTES_PER_CHAR + 4096
}

/// One evidence file, encrypted into a temporary blob.
pub(super) struct ReceivedFile {
    pub sealed: SealedFile,
    pub file_name: String,
    pub content_type: String,
}

/// A submission as it is read: what arrived so far, and the places it holds in the door.
pub(super) struct Reading<'a> {
    state: &'a IntakeState,
    mode: Mode,
    csrf_cookie: Option<&'a str>,
    csrf: CsrfCheck,
    raw: RawAnswers,
    /// A follow-up message's text.
    message: Option<String>,
    seen_report: bool,
    /// Names of the files the client sent, whether kept or not.
    file_names: Vec<String>,
    files: Vec<ReceivedFile>,
    file_bytes: u64,
    /// Held while the text is read; given back when the first file begins.
    report_slot: Option<Slot>,
    /// Held from the first file on.
    upload_slot: Option<Slot>,
}

impl<'a> Reading<'a> {
    /// A reading holding `report_slot`, or none for a refused submission that is only
    /// drained (so its text can be given back).
    pub(super) fn new(
        state: &'a IntakeState,
        mode: Mode,
        csrf_cookie: Option<&'a str>,
        report_slot: Option<Slot>,
    ) -> Self {
        Self {
            state,
            mode,
            csrf_cookie,
            // The API has no browser to forge requests from.
            csrf: if mode.is_form() {
                CsrfCheck::Invalid
            } else {
                CsrfCheck::Valid
            },
            raw: RawAnswers::default(),
            message: None,
            seen_report: false,
            file_names: Vec::new(),
            files: Vec::new(),
            file_bytes: 0,
            report_slot,
            upload_slot: None,
        }
    }

    pub(super) fn raw(&self) -> &RawAnswers {
        &self.raw
    }

    pub(super) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The files received, for storing. The places in the door stay held until the
    /// reading is dropped.
    pub(super) fn take_files(&mut self) -> Vec<ReceivedFile> {
        std::mem::take(&mut self.files)
    }

    /// What to give back to a person whose form was refused: only to the browser the
    /// form was issued to (a valid or merely expired token), never text that another
    /// site posted.
    pub(super) fn kept(self) -> Option<Kept> {
        let ours = matches!(self.csrf, CsrfCheck::Valid | CsrfCheck::Expired);
        (self.mode.is_form() && ours).then_some(Kept {
            raw: self.raw,
            message: self.message,
            files_not_kept: self.file_names,
        })
    }

    /// Gives back the places in the door (before draining a refused submission).
    pub(super) fn release(&mut self) {
        self.report_slot = None;
        self.upload_slot = None;
        // Temporary blobs of files already received go too.
        self.files.clear();
    }

    /// Reads every part. On success the answers, the token and the files are in.
    pub(super) async fn read_all(
        &mut self,
        multipart: &mut Multipart,
        recipient: &PublicKey,
        pace: &mut Pace,
    ) -> Result<(), SubmitError> {
        while let Some(field) = pace.next(multipart).await? {
            let mut field = field.map_err(|_| SubmitError::Malformed)?;
            let name = field.name().ok_or(SubmitError::Malformed)?.to_owned();
            if name == "evidence" {
                self.evidence(&mut field, recipient, pace).await?;
            } else {
                self.text_part(name, &mut field, pace).await?;
            }
        }
        match self.csrf {
            CsrfCheck::Valid => {}
            CsrfCheck::Expired => return Err(SubmitError::CsrfExpired),
            CsrfCheck::Invalid => return Err(SubmitError::Csrf),
        }
        if self.mode == Mode::Api && !self.seen_report {
            return Err(SubmitError::MissingReport);
        }
        Ok(())
    }

    /// Reads what a refused client is still sending, within a cap and the same pace:
    /// text parts are kept (a form puts some after its files), files are counted by name
    /// and discarded. Any trouble ends the drain quietly.
    pub(super) async fn drain(&mut self, multipart: &mut Multipart, pace: &mut Pace) {
        let mut drained = 0u64;
        while let Ok(Some(Ok(mut field))) = pace.next(multipart).await {
            let Some(name) = field.name().map(str::to_owned) else {
                return;
            };
            if name == "evidence" {
                match declared_file_name(&field) {
                    Ok(n) if !n.trim().is_empty() => self.file_names.push(displayable(&n)),
                    _ => {}
                }
                while let Ok(Some(Ok(chunk))) = pace.next(&mut field).await {
                    pace.count(chunk.len());
                    drained += chunk.len() as u64;
                    if drained > DRAIN_CAP_BYTES {
                        return;
                    }
                }
            } else if self.text_part(name, &mut field, pace).await.is_err() {
                return;
            }
        }
    }

    async fn text_part(
        &mut self,
        name: String,
        field: &mut Field,
        pace: &mut Pace,
    ) -> Result<(), SubmitError> {
        let limits = self.state.questionnaire.limits();
        match (self.mode, name.as_str()) {
            (Mode::Api, "report") => {
                if self.seen_report {
                    return Err(SubmitError::DuplicatePart(name));
                }
                self.seen_report = true;
                let cap = report_part_max_bytes(&self.state.questionnaire);
                let bytes = read_text(field, cap, &name, pace).await?;
                self.raw =
                    serde_json::from_slice(&bytes).map_err(|e| SubmitError::InvalidJson(e.to_string()))?;
            }
            (Mode::Message, "message") => {
                if self.message.is_some() {
                    return Err(SubmitError::DuplicatePart(name));
                }
                let max = redress_domain::EntryText::MAX_CHARS * UTF8_BYTES_PER_CHAR;
                self.message = Some(read_string(field, max, &name, pace).await?);
            }
            (Mode::Form | Mode::Message, redress_web::CSRF_FIELD) => {
                let token = read_string(field, 1024, &name, pace).await?;
                let l = &self.state.limits;
                self.csrf = self.state.csrf.check(
                    self.csrf_cookie,
                    Some(token.trim()),
                    self.state.now(),
                    l.form_max_age_secs,
                );
                if self.csrf == CsrfCheck::Invalid {
                    return Err(SubmitError::Csrf);
                }
            }
            (Mode::Form, HONEYPOT_FIELD) => {
                if !read_string(field, 1024, &name, pace).await?.trim().is_empty() {
                    return Err(SubmitError::Honeypot);
                }
            }
            (Mode::Form, "targeted") => {
                if self.raw.targeted.len() >= 16 {
                    return Err(SubmitError::DuplicatePart(name));
                }
                let value = read_string(field, 256, &name, pace).await?;
                self.raw.targeted.push(value);
            }
            (Mode::Form, _) => {
                let max_chars = match name.as_str() {
                    "what_happened" => limits.what_happened_chars,
                    "contact" => limits.contact_chars,
                    _ => limits.short_text_chars,
                };
                let slot = match name.as_str() {
                    "product" => &mut self.raw.product,
                    "suspected_customer" => &mut self.raw.suspected_customer,
                    "country" => &mut self.raw.country,
                    "what_happened" => &mut self.raw.what_happened,
                    "when" => &mut self.raw.when,
                    "ongoing" => &mut self.raw.ongoing,
                    "contact" => &mut self.raw.contact,
                    _ => return Err(SubmitError::UnknownPart(name)),
                };
                if slot.is_some() {
                    return Err(SubmitError::DuplicatePart(name));
                }
                *slot = Some(read_string(field, max_chars * UTF8_BYTES_PER_CHAR, &name, pace).await?);
            }
            (Mode::Api | Mode::Message, _) => return Err(SubmitError::UnknownPart(name)),
        }
        Ok(())
    }

    async fn evidence(
        &mut self,
        field: &mut Field,
        recipient: &PublicKey,
        pace: &mut Pace,
    ) -> Result<(), SubmitError> {
        match self.csrf {
            CsrfCheck::Invalid => return Err(SubmitError::Csrf),
            // An expired form: read on for the text, keep no file.
            CsrfCheck::Expired => {
                if let Ok(n) = declared_file_name(field)
                    && !n.trim().is_empty()
                {
                    self.file_names.push(displayable(&n));
                }
                while let Some(chunk) = pace.next(field).await? {
                    pace.count(chunk.map_err(|_| SubmitError::Malformed)?.len());
                }
                return Ok(());
            }
            CsrfCheck::Valid => {}
        }
        let declared = declared_file_name(field)?;
        // A file input left empty still sends a part with an empty name and no content.
        let first = match pace.next(field).await? {
            None if declared.is_empty() => return Ok(()),
            None => None,
            Some(chunk) => Some(chunk.map_err(|_| SubmitError::Malformed)?),
        };
        self.file_names.push(displayable(&declared));
        let l = &self.state.limits;
        // Refuse the file after the last allowed one as soon as it turns out not to be an
        // empty file input, before any of it is stored.
        if self.files.len() >= l.max_files {
            return Err(SubmitError::TooManyFiles);
        }
        if self.upload_slot.is_none() {
            self.upload_slot = Some(self.state.gate.admit_upload().ok_or(SubmitError::Busy)?);
            // From here the submission counts as an upload, not as a report being read.
            self.report_slot = None;
        }
        let file_name = check_file_name(&declared)?;
        self.check_disk()?;
        let content_type = clean_content_type(field.content_type().map(ToString::to_string).as_deref());
        let mut writer = EvidenceWriter::start(&self.state.blobs, recipient)
            .await
            .map_err(SubmitError::blob)?;
        // Known to the database from here, so no sweep anywhere takes it for a crash's
        // leftover however slowly it arrives; the case's commit forgets it.
        self.state
            .store
            .begin_upload(writer.id(), &self.state.process)
            .await
            .map_err(SubmitError::store)?;
        let mut size = 0u64;
        let mut since_disk_check = 0u64;
        let mut next: Option<Bytes> = first;
        while let Some(chunk) = next.take() {
            let n = chunk.len() as u64;
            size += n;
            self.file_bytes += n;
            since_disk_check += n;
            pace.count(chunk.len());
            if size > l.max_file_bytes {
                return Err(SubmitError::FileTooLarge);
            }
            if self.file_bytes > l.max_report_bytes {
                return Err(SubmitError::ReportTooLarge);
            }
            // Many uploads at once each passed the floor when they began; check as they
            // grow, so they cannot fill the disk between them.
            if since_disk_check >= DISK_CHECK_BYTES {
                self.check_disk()?;
                since_disk_check = 0;
            }
            writer.send(chunk).await.map_err(SubmitError::blob)?;
            next = match pace.next(field).await? {
                None => None,
                Some(c) => Some(c.map_err(|_| SubmitError::Malformed)?),
            };
        }
        let sealed = writer.finish().await.map_err(SubmitError::blob)?;
        self.files.push(ReceivedFile {
            sealed,
            file_name,
            content_type,
        });
        Ok(())
    }

    /// Refuses when free disk space is below the floor (`intake.min_free_disk_mib`),
    /// where the blobs' disk is this host's (the folder backend).
    pub(super) fn check_disk(&self) -> Result<(), SubmitError> {
        let free = self
            .state
            .blobs
            .available_bytes()
            .map_err(SubmitError::internal)?;
        if free.is_some_and(|free| free < self.state.limits.min_free_bytes) {
            return Err(SubmitError::DiskFull);
        }
        Ok(())
    }
}

/// The file name as the client declared it, preferring the RFC 5987 `filename*` form.
fn declared_file_name(field: &Field) -> Result<String, SubmitError> {
    let Some(cd) = field.content_disposition() else {
        return Ok(String::new());
    };
    if let Some(ext) = cd.get_filename_ext() {
        return String::from_utf8(ext.value.clone()).map_err(|_| SubmitError::BadFileName);
    }
    Ok(cd.get_filename().unwrap_or_default().to_owned())
}

/// Accepts a plain file name only: no folders, no control or invisible formatting
/// characters, no `..`.
fn check_file_name(name: &str) -> Result<String, SubmitError> {
    let name = name.trim();
    let bad = name.len() > 255
        || name.contains(['/', '\\'])
        || name
            .chars()
            .any(|c| c.is_control() || redress_domain::is_invisible_format(c))
        || name == "."
        || name == "..";
    if bad {
        return Err(SubmitError::BadFileName);
    }
    Ok(if name.is_empty() {
        "unnamed".to_owned()
    } else {
        name.to_owned()
    })
}

/// A declared file name made safe to show back to the person who sent it (in a list of
/// files to attach again): characters that could disguise it are replaced, and it is
/// cut to a sensible length.
fn displayable(name: &str) -> String {
    let shown: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_control() || redress_domain::is_invisible_format(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .take(120)
        .collect();
    if shown.is_empty() {
        "unnamed".to_owned()
    } else {
        shown
    }
}

fn clean_content_type(declared: Option<&str>) -> String {
    match declared.map(|d| (d, d.parse::<mime::Mime>())) {
        Some((d, Ok(m))) if d.len() <= 127 => m.essence_str().to_owned(),
        _ => "application/octet-stream".to_owned(),
    }
}

async fn read_text(
    field: &mut Field,
    max: usize,
    name: &str,
    pace: &mut Pace,
) -> Result<Vec<u8>, SubmitError> {
    let mut buf = Vec::new();
    while let Some(chunk) = pace.next(field).await? {
        let chunk = chunk.map_err(|_| SubmitError::Malformed)?;
        pace.count(chunk.len());
        if buf.len() + chunk.len() > max {
            return Err(SubmitError::FieldTooLarge(name.to_owned()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_string(
    field: &mut Field,
    max: usize,
    name: &str,
    pace: &mut Pace,
) -> Result<String, SubmitError> {
    String::from_utf8(read_text(field, max, name, pace).await?).map_err(|_| SubmitError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_shown_back_cannot_disguise_themselves() {
        assert_eq!(displayable("photo\u{202E}gpj.exe"), "photo\u{FFFD}gpj.exe");
        assert_eq!(displayable("  "), "unnamed");
        assert_eq!(displayable(&"a".repeat(500)).chars().count(), 120);
        assert!(check_file_name("photo\u{202E}gpj.exe").is_err());
        assert!(check_file_name("../x").is_err());
        assert_eq!(check_file_name(" a.pdf ").unwrap(), "a.pdf");
    }
}
