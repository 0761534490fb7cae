//! The allocator's tuning and figures (glibc; elsewhere these do nothing). See ARCHITECTURE.md
//! "Memory": the mmap threshold is pinned at start, free memory is handed back every 30 s
//! (`app::memory_trimmer`), and `/metrics` reports the heap's bytes in use and held free, which
//! tell growth of live data (a leak) from memory the allocator keeps (fragmentation).

/// Hands the free pages of every arena back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory the allocator holds; it is thread-safe
    // and touches no memory the program uses.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_heap() {}

/// Allocations of this size or more get pages of their own, returned when freed.
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Pins glibc's mmap threshold at [`MMAP_THRESHOLD`]. By default it rises to the size of the
/// largest mapped block ever freed (up to 32 MiB), after which every rebuild's large buffers
/// (a 472 KB page, its compressed forms, the compressors' windows) come from the heap and leave
/// it fragmented: the resident size climbed from 50 to 78 MiB over 40 snapshot rebuilds and
/// stayed at 67 MiB after a trim. Pinned, the same rebuilds leave it at 42 MiB.
/// Called by `main` before anything is allocated: the first large block freed would raise the
/// threshold already.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn fix_mmap_threshold() {
    // SAFETY: mallopt only changes the allocator's tuning; it is safe to call at any time.
    // A failure leaves glibc's default behaviour; there is nothing to report it to yet.
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn fix_mmap_threshold() {}

/// The heap's bytes in use by the program and held free by the allocator (all arenas, and
/// blocks mapped on their own), or `None` where the allocator does not say.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_bytes() -> Option<(u64, u64)> {
    // SAFETY: mallinfo2 only reads the allocator's counters; it is thread-safe.
    let info = unsafe { libc::mallinfo2() };
    Some(((info.uordblks + info.hblkhd) as u64, info.fordblks as u64))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_bytes() -> Option<(u64, u64)> {
    None
}
