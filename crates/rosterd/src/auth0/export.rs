//! The users export job: started, polled, and its file read as it
//! downloads.
//!
//! The file (gzipped NDJSON, one user a line) is decompressed and parsed
//! while it arrives: the response's chunks go over a channel to a blocking
//! task that reads them through the gzip decoder, a line at a time, straight
//! into the wire type (`wire::user_from_line`). No copy of the whole file,
//! compressed or not, and no generic JSON tree per user.

use super::wire::user_from_line;
use super::{
    encode_segment, expect_ok, protocol, read_json, transport, Auth0Client, Auth0Error, Result,
};
use crate::model::Auth0User;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, Read};
use std::time::Duration;
use tokio::time::Instant;

const DL: &str = "GET export file";

impl Auth0Client {
    /// Every user in the tenant, through a users export job (page-based
    /// listing stops at 1,000 results).
    pub async fn export_users(&self) -> Result<Vec<Auth0User>> {
        const EP: &str = "POST /api/v2/jobs/users-exports";
        let fields: Vec<Value> = [
            "user_id",
            "email",
            "email_verified",
            "name",
            "blocked",
            "app_metadata",
            "user_metadata",
            // Account usage (`policy.usage`): absent until set, not null.
            "created_at",
            "last_login",
            "logins_count",
        ]
        .iter()
        .map(|f| json!({ "name": f }))
        // The first identity's connection, not the whole array: social
        // identities may carry IdP tokens rosterd has no use for.
        .chain([json!({ "name": "identities[0].connection", "export_as": "connection" })])
        .collect();
        let body = json!({ "format": "json", "fields": fields });
        let resp = self
            .call(
                EP,
                Method::POST,
                "/api/v2/jobs/users-exports",
                &[],
                Some(&body),
            )
            .await?;
        let job: Value = read_json(EP, resp).await?;
        let job_id = job["id"]
            .as_str()
            .ok_or_else(|| protocol(EP, "job has no id"))?
            .to_string();

        const POLL: &str = "GET /api/v2/jobs/{id}";
        let deadline = Instant::now() + self.inner.export_timeout;
        let mut pause = Duration::ZERO;
        let location = loop {
            let path = format!("/api/v2/jobs/{}", encode_segment(&job_id));
            let resp = self.call(POLL, Method::GET, &path, &[], None).await?;
            let job: Value = read_json(POLL, resp).await?;
            match job["status"].as_str() {
                Some("completed") => match job["location"].as_str() {
                    Some(l) => break l.to_string(),
                    None => return Err(protocol(POLL, "completed job has no location")),
                },
                Some("failed") => {
                    return Err(Auth0Error::Api {
                        endpoint: POLL,
                        status: 200,
                        code: Some("job_failed".into()),
                        message: format!("users export job {job_id} failed"),
                    })
                }
                _ if Instant::now() > deadline => {
                    return Err(Auth0Error::Transport {
                        endpoint: POLL,
                        detail: format!(
                            "users export job {job_id} not completed after {}s",
                            self.inner.export_timeout.as_secs()
                        ),
                    })
                }
                _ => {
                    pause = super::job_pause(pause, self.inner.export_poll);
                    tokio::time::sleep(pause).await
                }
            }
        };

        // The location is a signed URL on another host: no bearer token.
        let resp = self
            .send_with_retry(DL, || self.inner.http.get(&location))
            .await?;
        read_export(expect_ok(DL, resp).await?).await
    }
}

/// The export file's users, parsed while it downloads. A download that
/// fails is that failure, whatever the parser made of the part it saw; a
/// bad line stops the download and is the error (naming the line).
async fn read_export(mut resp: reqwest::Response) -> Result<Vec<Auth0User>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let parser = tokio::task::spawn_blocking(move || parse_export(ChunkReader::new(rx)));
    let download = async {
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(DL, &e))? {
            if tx.send(chunk).await.is_err() {
                // The parser stopped at a bad line: its error says which.
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(tx);
    let parsed = parser
        .await
        .map_err(|e| protocol(DL, format!("export parser failed: {e}")))?;
    download?;
    parsed
}

/// Every user in a gzipped NDJSON stream; blank lines are skipped.
fn parse_export(compressed: impl Read) -> Result<Vec<Auth0User>> {
    let mut lines =
        std::io::BufReader::with_capacity(64 * 1024, flate2::read::GzDecoder::new(compressed));
    let mut users = Vec::new();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = lines
            .read_until(b'\n', &mut line)
            .map_err(|e| protocol(DL, format!("line {n}: not gzipped text: {e}")))?;
        if read == 0 {
            break;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        users.push(user_from_line(text).map_err(|e| protocol(DL, format!("line {n}: {e}")))?);
    }
    Ok(users)
}

/// The chunks a channel delivers, as one byte stream (for a blocking task).
struct ChunkReader<B> {
    rx: tokio::sync::mpsc::Receiver<B>,
    chunk: B,
    at: usize,
}

impl<B: AsRef<[u8]> + Default> ChunkReader<B> {
    fn new(rx: tokio::sync::mpsc::Receiver<B>) -> Self {
        ChunkReader {
            rx,
            chunk: B::default(),
            at: 0,
        }
    }
}

impl<B: AsRef<[u8]> + Default> Read for ChunkReader<B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.as_ref().len() {
            match self.rx.blocking_recv() {
                Some(chunk) => (self.chunk, self.at) = (chunk, 0),
                None => return Ok(0),
            }
        }
        let rest = &self.chunk.as_ref()[self.at..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    /// Chunks cut anywhere (inside the gzip header, a line, a UTF-8
    /// character) read as the whole file does.
    #[tokio::test]
    async fn an_export_is_parsed_from_chunks_cut_anywhere() {
        let file = gzip(
            "{\"user_id\":\"auth0|1\",\"name\":\"Zoë\"}\n\n{\"user_id\":\"auth0|2\",\"unknown\":{\"a\":[1]}}\n",
        );
        for size in [1, 7, 64, file.len()] {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let parser = tokio::task::spawn_blocking(move || parse_export(ChunkReader::new(rx)));
            for chunk in file.chunks(size) {
                tx.send(chunk.to_vec()).await.unwrap();
            }
            drop(tx);
            let users = parser.await.unwrap().unwrap();
            let ids: Vec<&str> = users.iter().map(|u| u.user_id.0.as_str()).collect();
            assert_eq!(ids, ["auth0|1", "auth0|2"], "chunks of {size}");
            assert_eq!(users[0].name.as_deref(), Some("Zoë"));
        }
    }

    #[test]
    fn a_bad_export_line_is_an_error_naming_the_line() {
        let e =
            parse_export(&gzip("{\"user_id\":\"a|1\"}\n{\"email\":\"x@y.z\"}\n")[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET export file: unexpected response: line 2: user without a user_id"
        );
        let e = parse_export(&b"not gzip"[..]).unwrap_err();
        assert!(e.to_string().contains("line 1: not gzipped text"), "{e}");
    }
}
