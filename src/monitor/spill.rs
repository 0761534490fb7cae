//! The writer's queue of results and verdicts not yet stored: in memory up to a bound, then
//! on disk, in order, so a long database outage or a restart during one loses nothing.
//!
//! Order is what matters: a verdict must never be stored before the results behind it. The
//! queue keeps the oldest jobs in memory and, once memory is full, appends newer ones to a
//! file (`unwritten-checks.jsonl` in the data folder, one JSON job per line). While the file
//! holds jobs, new ones go to its end too; when memory runs dry, the next lines are read back
//! into memory. When the process stops with jobs unwritten, memory's jobs and the file's
//! unread ones are rewritten together, oldest first, and the next start resumes from them.
//! Delivery to the store is at least once: a crash between storing a batch and forgetting it
//! stores it again on the next start.

use crate::domain::MonitorId;
use crate::monitor::evaluate::{Memory, Transition};
use crate::monitor::model::CheckRecord;
use crate::store::RecordedCheck;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The spill file's name in the data folder.
pub const FILE_NAME: &str = "unwritten-checks.jsonl";

/// What the writer stores, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum WriteJob {
    Result {
        record: CheckRecord,
        memory: Memory,
    },
    Transition {
        id: MonitorId,
        transition: Box<Transition>,
        memory: Memory,
    },
}

impl WriteJob {
    pub fn result(check: RecordedCheck) -> WriteJob {
        WriteJob::Result {
            record: check.record,
            memory: check.memory,
        }
    }
}

/// The spill file: appended at its end, read from `read_at`.
struct Disk {
    path: PathBuf,
    append: File,
    reader: BufReader<File>,
    /// Jobs in the file not yet read back.
    unread: u64,
}

/// Jobs waiting for the store, oldest first.
pub struct Queue {
    memory: VecDeque<WriteJob>,
    memory_limit: usize,
    dir: Option<PathBuf>,
    disk: Option<Disk>,
    /// Jobs lost because there was no folder to spill to, or the disk failed.
    pub dropped: u64,
}

impl Queue {
    /// A queue keeping up to `memory_limit` jobs in memory and the rest in `dir` (none: the
    /// oldest are dropped, and counted, beyond the limit). Jobs a previous run left in `dir`
    /// come first.
    pub fn open(dir: Option<PathBuf>, memory_limit: usize) -> Queue {
        let mut queue = Queue {
            memory: VecDeque::new(),
            memory_limit: memory_limit.max(1),
            dir,
            disk: None,
            dropped: 0,
        };
        if let Some(path) = queue.path() {
            if path.exists() {
                match open_disk(&path) {
                    Ok(disk) if disk.unread > 0 => {
                        tracing::info!(jobs = disk.unread, file = %path.display(), "resuming check results left unwritten by the last run");
                        queue.disk = Some(disk);
                    }
                    Ok(_) => {
                        let _ = std::fs::remove_file(&path);
                    }
                    Err(err) => {
                        tracing::error!(error = %err, file = %path.display(), "cannot read the unwritten check results")
                    }
                }
            }
        }
        queue.refill();
        queue
    }

    fn path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(FILE_NAME))
    }

    pub fn len(&self) -> u64 {
        self.memory.len() as u64 + self.disk.as_ref().map_or(0, |d| d.unread)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Jobs held in memory (the rest are on disk).
    pub fn in_memory(&self) -> usize {
        self.memory.len()
    }

    pub fn push(&mut self, job: WriteJob) {
        let to_disk = self.disk.is_some() || self.memory.len() >= self.memory_limit;
        if !to_disk {
            self.memory.push_back(job);
            return;
        }
        if self.disk.is_none() {
            let Some(path) = self.path() else {
                self.memory.pop_front();
                self.memory.push_back(job);
                self.dropped += 1;
                return;
            };
            match open_disk(&path) {
                Ok(disk) => {
                    tracing::warn!(file = %path.display(), "check results exceed memory; keeping newer ones on disk");
                    self.disk = Some(disk);
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot keep check results on disk; dropping the oldest");
                    self.memory.pop_front();
                    self.memory.push_back(job);
                    self.dropped += 1;
                    return;
                }
            }
        }
        let disk = self.disk.as_mut().expect("opened above");
        match append(&mut disk.append, &job) {
            Ok(()) => disk.unread += 1,
            Err(err) => {
                tracing::error!(error = %err, "cannot append a check result to disk; dropped");
                self.dropped += 1;
            }
        }
    }

    /// Up to `n` jobs from the front, without removing them.
    pub fn front(&self, n: usize) -> impl Iterator<Item = &WriteJob> {
        self.memory.iter().take(n)
    }

    /// Forgets the first `n` jobs (stored), reading more back from disk when memory runs dry.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.memory.len());
        self.memory.drain(..n);
        if self.memory.is_empty() {
            self.refill();
        }
    }

    /// Reads up to the memory limit back from disk; removes the file once it is all read.
    fn refill(&mut self) {
        let Some(disk) = self.disk.as_mut() else {
            return;
        };
        let mut line = String::new();
        while self.memory.len() < self.memory_limit && disk.unread > 0 {
            line.clear();
            match disk.reader.read_line(&mut line) {
                Ok(0) => {
                    disk.unread = 0;
                }
                Ok(_) => {
                    disk.unread -= 1;
                    match serde_json::from_str::<WriteJob>(line.trim_end()) {
                        Ok(job) => self.memory.push_back(job),
                        Err(err) => {
                            tracing::error!(error = %err, "skipping an unreadable line of unwritten check results");
                            self.dropped += 1;
                        }
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot read unwritten check results back");
                    return;
                }
            }
        }
        if disk.unread == 0 {
            let path = disk.path.clone();
            self.disk = None;
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(error = %err, file = %path.display(), "cannot remove the emptied file of unwritten check results");
            }
        }
    }

    /// Writes every job still waiting to disk, oldest first, for the next start. Returns how
    /// many were kept.
    pub fn persist(&mut self) -> std::io::Result<u64> {
        if self.is_empty() {
            return Ok(0);
        }
        let Some(path) = self.path() else {
            return Ok(0);
        };
        let tmp = path.with_extension("jsonl.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let mut kept = 0u64;
        for job in &self.memory {
            serde_json::to_writer(&mut out, job)?;
            out.write_all(b"\n")?;
            kept += 1;
        }
        if let Some(disk) = self.disk.as_mut() {
            let mut line = String::new();
            while disk.reader.read_line(&mut line)? > 0 {
                out.write_all(line.trim_end().as_bytes())?;
                out.write_all(b"\n")?;
                kept += 1;
                line.clear();
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        self.memory.clear();
        self.disk = None;
        Ok(kept)
    }
}

fn append(file: &mut File, job: &WriteJob) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(job).map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)
}

/// Opens the spill file for appending and for reading from its start, counting its lines.
fn open_disk(path: &Path) -> std::io::Result<Disk> {
    let append = OpenOptions::new().create(true).append(true).open(path)?;
    let mut counter = BufReader::new(File::open(path)?);
    let mut unread = 0u64;
    let mut line = String::new();
    while counter.read_line(&mut line)? > 0 {
        if !line.trim().is_empty() {
            unread += 1;
        }
        line.clear();
    }
    let mut reader = counter.into_inner();
    reader.seek(SeekFrom::Start(0))?;
    Ok(Disk {
        path: path.to_path_buf(),
        append,
        reader: BufReader::new(reader),
        unread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use crate::monitor::probe::{ProbeReport, Timings};

    fn job(n: i64) -> WriteJob {
        let at = Timestamp(chrono::DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap());
        WriteJob::Result {
            record: CheckRecord::new(
                MonitorId(uuid::Uuid::nil()),
                at,
                ProbeReport::up(format!("check {n}"), Timings::default()),
            ),
            memory: Memory::default(),
        }
    }

    fn number(job: &WriteJob) -> i64 {
        match job {
            WriteJob::Result { record, .. } => record.at.0.timestamp() - 1_800_000_000,
            WriteJob::Transition { .. } => -1,
        }
    }

    /// Takes everything out of the queue in order, `batch` at a time.
    fn drain(queue: &mut Queue, batch: usize) -> Vec<i64> {
        let mut out = Vec::new();
        while !queue.is_empty() {
            let taken: Vec<i64> = queue.front(batch).map(number).collect();
            assert!(!taken.is_empty(), "a non-empty queue has a front");
            out.extend(&taken);
            queue.consume(taken.len());
        }
        out
    }

    #[test]
    fn beyond_memory_jobs_go_to_disk_and_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut queue = Queue::open(Some(dir.path().to_path_buf()), 3);
        for n in 0..10 {
            queue.push(job(n));
        }
        assert_eq!(queue.len(), 10);
        assert_eq!(queue.in_memory(), 3);
        assert!(dir.path().join(FILE_NAME).exists());
        // New jobs keep going behind the spilled ones while some are consumed.
        let first: Vec<i64> = queue.front(2).map(number).collect();
        queue.consume(2);
        queue.push(job(10));
        let mut all = first;
        all.extend(drain(&mut queue, 2));
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert!(
            !dir.path().join(FILE_NAME).exists(),
            "an emptied file is removed"
        );
        assert_eq!(queue.dropped, 0);
    }

    #[test]
    fn unwritten_jobs_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut queue = Queue::open(Some(dir.path().to_path_buf()), 4);
        for n in 0..9 {
            queue.push(job(n));
        }
        queue.consume(1);
        assert_eq!(queue.persist().unwrap(), 8);
        drop(queue);
        let mut again = Queue::open(Some(dir.path().to_path_buf()), 4);
        assert_eq!(again.len(), 8);
        again.push(job(9));
        assert_eq!(drain(&mut again, 3), (1..10).collect::<Vec<_>>());
    }

    #[test]
    fn without_a_folder_the_oldest_are_dropped_and_counted() {
        let mut queue = Queue::open(None, 2);
        for n in 0..5 {
            queue.push(job(n));
        }
        assert_eq!(queue.dropped, 3);
        assert_eq!(drain(&mut queue, 10), vec![3, 4]);
    }

    #[test]
    fn an_unreadable_line_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let good = serde_json::to_string(&job(1)).unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!("{good}\nnot json\n{good}\n"),
        )
        .unwrap();
        let mut queue = Queue::open(Some(dir.path().to_path_buf()), 10);
        assert_eq!(drain(&mut queue, 10), vec![1, 1]);
        assert_eq!(queue.dropped, 1);
    }
}
