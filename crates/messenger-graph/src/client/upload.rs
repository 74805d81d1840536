//! The attachment upload API (`POST /me/message_attachments`, multipart).

use messenger_model::graph::AttachmentUploadResponse;
use reqwest::multipart::{Form, Part};

use super::GraphClient;
use crate::{AttachmentUpload, Error};

impl GraphClient {
    /// Uploads an attachment and returns its reusable `attachment_id`, to send with
    /// `MediaPayload::attachment_id`.
    ///
    /// The form has Graph's two fields: `message` (`{"attachment":{"type":..,"payload":
    /// {"is_reusable":true}}}`) and `filedata` (the bytes, with file name and MIME type).
    ///
    /// ```no_run
    /// # async fn demo(client: messenger_graph::GraphClient) -> Result<(), messenger_graph::Error> {
    /// use messenger_graph::AttachmentUpload;
    /// let png: Vec<u8> = std::fs::read("parcel.png").unwrap_or_default();
    /// let id = client
    ///     .upload_attachment(&AttachmentUpload::for_mime_type("parcel.png", "image/png", png))
    ///     .await?;
    /// println!("attachment {id}");
    /// # Ok(()) }
    /// ```
    pub async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
        let page = self.page()?;
        upload.validate()?;
        let message = format!(
            r#"{{"attachment":{{"type":"{}","payload":{{"is_reusable":true}}}}}}"#,
            upload.kind.as_str()
        );
        let length = u64::try_from(upload.data.len()).unwrap_or(u64::MAX);
        let file = Part::stream_with_length(upload.data.clone(), length)
            .file_name(upload.file_name.clone())
            .mime_str(&upload.mime_type)
            .map_err(|_| Error::InvalidInput {
                reason: format!("{:?} is not a MIME type", upload.mime_type),
            })?;
        let form = Form::new().text("message", message).part("filedata", file);
        let request = self
            .shared
            .http()
            .post(page.attachments_url.clone())
            .multipart(form);
        let answer: AttachmentUploadResponse = self.execute(&page, request).await?;
        Ok(answer.attachment_id)
    }
}
