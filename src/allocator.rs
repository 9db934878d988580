//! Allocator settings for the simulator's pattern of large, short-lived matrices.
//!
//! A job allocates a fresh weight matrix, pre-activation and work buffer per layer and frees
//! them at its end; the next job allocates the same sizes again. glibc serves blocks above its
//! mmap threshold (128 KiB, adjusted upwards only as blocks are freed) with fresh mappings and
//! returns freed heap tops to the kernel, so every job touches new pages, and a first touch
//! costs the kernel's page clearing: 0.8–1.7 s per GB measured on the project machine, 3–7 ns
//! per f32 entry, as much as drawing the entry. Serving large blocks from the heap and never
//! trimming it lets later jobs reuse pages already touched: W1's page faults fall from 373 000
//! to 42 000 (1.5 GB → 0.16 GB first-touched) for the same numbers. Peak RSS is unchanged: it
//! is still the most memory live at once (W3: 2.03 GiB either way).

/// Keep freed memory in the process for reuse (glibc only; elsewhere a no-op).
pub fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any threads start.
    unsafe {
        // Newer glibc caps the threshold at half its arena heap size (32 MiB); fall back to it.
        if libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) == 0 {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
