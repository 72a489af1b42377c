//! Reading export files record by record: CSV (any delimiter, UTF-8 or
//! Windows-1251), JSON lines and Parquet all come out as a header and raw
//! records, so one [`RowPlan`](super::rows::RowPlan) converts them all.
//! Every reader also hashes the bytes it reads: the hash names the load in
//! the Delta log, which makes loading the same file twice a no-op.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use sha2::{Digest, Sha256};

use super::rows::{Encoding, RowError};

/// The format of an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" | "jsonl" | "ndjson" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("unknown format `{s}`: use csv, json or parquet")),
        }
    }
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "parquet" => Format::Parquet,
            Some(e) if e == "json" || e == "jsonl" || e == "ndjson" => Format::Json,
            _ => Format::Csv,
        }
    }
}

/// What the caller knows about a file before opening it.
#[derive(Debug, Clone, Default)]
pub struct SourceHints {
    pub format: Option<Format>,
    pub delimiter: Option<u8>,
    pub encoding: Option<Encoding>,
    /// Keys to read from JSON objects (JSON lines have no header).
    pub json_keys: Vec<String>,
    /// Separator to join list values (tags) read from JSON and Parquet.
    pub list_separator: String,
}

/// One record read from a source.
pub enum Next {
    /// A record was read into the caller's buffer; its line number.
    Record(u64),
    /// A record that cannot be read at all (e.g. invalid JSON).
    Bad(u64, RowError, String),
    /// End of file.
    End,
}

/// An open export file.
pub struct Source {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub encoding: Encoding,
    pub delimiter: u8,
    pub format: Format,
    reader: Reader,
    /// Bytes read so far (for progress bars).
    pub bytes_read: Arc<AtomicU64>,
    /// Size of the file in bytes.
    pub size: u64,
}

/// The sniffed head of a CSV file, then the rest of it.
type CsvInput = HashingReader<std::io::Chain<std::io::Cursor<Vec<u8>>, File>>;

enum Reader {
    Csv(Box<csv::Reader<CsvInput>>),
    Json {
        lines: BufReader<HashingReader<File>>,
        line: u64,
        buf: Vec<u8>,
    },
    Parquet {
        batches: ParquetRecordBatchReader,
        current: Option<(Vec<ArrayRef>, usize)>,
        row: u64,
        hash: [u8; 32],
    },
}

/// Reads through, hashing and counting bytes.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Source {
    /// Opens a file, detecting what the hints leave open: the format from the
    /// extension, the delimiter from the header line (`;`, `,`, tab or `|`),
    /// and the encoding (a header that is not valid UTF-8 is Windows-1251).
    pub fn open(path: &Path, hints: &SourceHints) -> Result<Source> {
        let format = hints.format.unwrap_or_else(|| Format::from_path(path));
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let count = Arc::new(AtomicU64::new(0));
        match format {
            Format::Csv => {
                let mut sniff = vec![0u8; 64 * 1024];
                let mut filled = 0;
                while filled < sniff.len() {
                    let n = file
                        .read(&mut sniff[filled..])
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                sniff.truncate(filled);
                let mut start = 0;
                if sniff.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    start = 3;
                }
                let first_line_end = sniff[start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|p| p + start)
                    .unwrap_or(sniff.len());
                let first_line = &sniff[start..first_line_end];
                if first_line.iter().all(|b| b.is_ascii_whitespace()) {
                    bail!(
                        "{} is empty: a CSV export needs a header line",
                        path.display()
                    );
                }
                let encoding = hints.encoding.unwrap_or_else(|| {
                    if std::str::from_utf8(first_line).is_ok() {
                        Encoding::Utf8
                    } else {
                        Encoding::Windows1251
                    }
                });
                let delimiter = hints
                    .delimiter
                    .unwrap_or_else(|| sniff_delimiter(first_line));
                let sniffed = sniff.split_off(start);
                let inner = HashingReader {
                    inner: std::io::Cursor::new(sniffed).chain(file),
                    hasher: Sha256::new(),
                    count: count.clone(),
                };
                let mut csv = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .has_headers(true)
                    .from_reader(inner);
                let raw_header = csv
                    .byte_headers()
                    .with_context(|| format!("cannot read the header of {}", path.display()))?
                    .clone();
                let header = raw_header
                    .iter()
                    .map(|h| decode_header(h, encoding))
                    .collect::<Result<Vec<_>>>()
                    .with_context(|| format!("bad header in {}", path.display()))?;
                Ok(Source {
                    path: path.to_path_buf(),
                    header,
                    encoding,
                    delimiter,
                    format,
                    reader: Reader::Csv(Box::new(csv)),
                    bytes_read: count,
                    size,
                })
            }
            Format::Json => Ok(Source {
                path: path.to_path_buf(),
                header: hints.json_keys.clone(),
                encoding: Encoding::Utf8,
                delimiter: b',',
                format,
                reader: Reader::Json {
                    lines: BufReader::with_capacity(
                        1 << 20,
                        HashingReader {
                            inner: file,
                            hasher: Sha256::new(),
                            count: count.clone(),
                        },
                    ),
                    line: 0,
                    buf: Vec::new(),
                },
                bytes_read: count,
                size,
            }),
            Format::Parquet => {
                let mut hasher = Sha256::new();
                let mut hashed =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                std::io::copy(&mut hashed, &mut hasher)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new(file).with_context(|| {
                        format!("{} is not a readable Parquet file", path.display())
                    })?;
                let header = builder
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let batches = builder.with_batch_size(8192).build()?;
                count.store(size, Ordering::Relaxed);
                Ok(Source {
                    path: path.to_path_buf(),
                    header,
                    encoding: Encoding::Utf8,
                    delimiter: b',',
                    format,
                    reader: Reader::Parquet {
                        batches,
                        current: None,
                        row: 0,
                        hash: hasher.finalize().into(),
                    },
                    bytes_read: count,
                    size,
                })
            }
        }
    }

    /// Reads the next record into `record`.
    pub fn next(&mut self, record: &mut csv::ByteRecord, sep: &str) -> Result<Next> {
        match &mut self.reader {
            Reader::Csv(csv) => {
                let more = csv
                    .read_byte_record(record)
                    .with_context(|| format!("cannot read {}", self.path.display()))?;
                if !more {
                    return Ok(Next::End);
                }
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                Ok(Next::Record(line))
            }
            Reader::Json { lines, line, buf } => loop {
                buf.clear();
                let n = lines
                    .read_until(b'\n', buf)
                    .with_context(|| format!("cannot read {}", self.path.display()))?;
                if n == 0 {
                    return Ok(Next::End);
                }
                *line += 1;
                if buf.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let raw = String::from_utf8_lossy(buf).trim_end().to_string();
                let text = match std::str::from_utf8(buf) {
                    Ok(t) => t,
                    Err(_) => {
                        return Ok(Next::Bad(
                            *line,
                            RowError {
                                column: String::new(),
                                reason: "invalid UTF-8: JSON lines must be UTF-8".into(),
                            },
                            raw,
                        ));
                    }
                };
                let object: serde_json::Map<String, serde_json::Value> =
                    match serde_json::from_str(text) {
                        Ok(o) => o,
                        Err(e) => {
                            return Ok(Next::Bad(
                                *line,
                                RowError {
                                    column: String::new(),
                                    reason: format!("not a JSON object: {e}"),
                                },
                                raw,
                            ));
                        }
                    };
                record.clear();
                for key in &self.header {
                    let field = match object.get(key) {
                        None | Some(serde_json::Value::Null) => String::new(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Array(items)) => items
                            .iter()
                            .map(|v| match v {
                                serde_json::Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(sep),
                        Some(other) => other.to_string(),
                    };
                    record.push_field(field.as_bytes());
                }
                return Ok(Next::Record(*line));
            },
            Reader::Parquet {
                batches,
                current,
                row,
                ..
            } => loop {
                if let Some((columns, i)) = current {
                    let len = columns.first().map(|c| c.len()).unwrap_or(0);
                    if *i < len {
                        record.clear();
                        for c in columns.iter() {
                            if c.is_null(*i) {
                                record.push_field(b"");
                            } else {
                                record.push_field(c.as_string::<i32>().value(*i).as_bytes());
                            }
                        }
                        *i += 1;
                        *row += 1;
                        return Ok(Next::Record(*row));
                    }
                }
                match batches.next() {
                    None => return Ok(Next::End),
                    Some(batch) => {
                        let batch = batch
                            .with_context(|| format!("cannot read {}", self.path.display()))?;
                        *current = Some((strings_of(&batch, sep)?, 0));
                    }
                }
            },
        }
    }

    /// The SHA-256 of the file's bytes; call after the last record.
    pub fn finish(self) -> [u8; 32] {
        match self.reader {
            Reader::Csv(csv) => csv.into_inner().hasher.finalize().into(),
            Reader::Json { lines, .. } => lines.into_inner().hasher.finalize().into(),
            Reader::Parquet { hash, .. } => hash,
        }
    }
}

/// Every column of a Parquet batch as text (lists joined by `sep`).
fn strings_of(batch: &RecordBatch, sep: &str) -> Result<Vec<ArrayRef>> {
    batch
        .columns()
        .iter()
        .map(|c| -> Result<ArrayRef> {
            match c.data_type() {
                DataType::List(_) | DataType::LargeList(_) => {
                    let list = c.as_list::<i32>();
                    let mut b = datafusion::arrow::array::StringBuilder::new();
                    for i in 0..list.len() {
                        if list.is_null(i) {
                            b.append_null();
                            continue;
                        }
                        let items = cast(&list.value(i), &DataType::Utf8)?;
                        let items = items.as_string::<i32>();
                        let joined: Vec<&str> = (0..items.len())
                            .filter(|&j| !items.is_null(j))
                            .map(|j| items.value(j))
                            .collect();
                        b.append_value(joined.join(sep));
                    }
                    Ok(Arc::new(b.finish()))
                }
                _ => Ok(cast(c, &DataType::Utf8)?),
            }
        })
        .collect()
}

fn decode_header(raw: &[u8], encoding: Encoding) -> Result<String> {
    let text = match encoding {
        Encoding::Utf8 => std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| anyhow::anyhow!("the header is not valid UTF-8; pass --encoding windows-1251 if it is a Windows-1251 export"))?,
        Encoding::Windows1251 => encoding_rs::WINDOWS_1251
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    };
    Ok(text.trim().trim_matches('\u{feff}').to_string())
}

/// The delimiter that splits the header line into the most fields.
fn sniff_delimiter(line: &[u8]) -> u8 {
    let mut best = b',';
    let mut best_count = 0;
    for d in [b',', b';', b'\t', b'|'] {
        let n = line.iter().filter(|&&b| b == d).count();
        if n > best_count {
            best = d;
            best_count = n;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter(b"a;b;c"), b';');
        assert_eq!(sniff_delimiter(b"a,b;c,d"), b',');
        assert_eq!(sniff_delimiter(b"a\tb"), b'\t');
    }
}
