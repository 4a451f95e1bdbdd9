//! argon2's working memory (19 MiB at OWASP's cost), mapped in 2 MiB transparent huge pages
//! where the kernel offers them, and reused from hash to hash.
//!
//! argon2 spends its time reading 1 KiB blocks from all over its memory. In 4 KiB pages that is
//! 4,864 pages, far more than the TLB holds, so a good part of each hash is page-table walks;
//! and every time another thread runs on the core in between (the server's async and SQLite
//! workers, once or twice per sign-in), those walks start again from cold caches. In 2 MiB pages
//! the whole memory is ten TLB entries. On this project's 2-core VM (THP in `madvise` mode), two
//! threads hashing with a third waking every 0.7 ms beside them, as the server's workers do:
//! 18.1 ms of CPU per hash in 4 KiB pages, 19.1 with the third thread; 16.4 in huge pages, with
//! or without it (10 alternating rounds of 2 s each).
//!
//! This is the workspace's one crate with `unsafe` code: map, advise and unmap an anonymous
//! region, and the slice over it. Where mapping fails the memory is an ordinary `Vec`, and where
//! the kernel has no transparent huge pages it stays in 4 KiB pages: hashes are the same either
//! way, only slower.

use std::ffi::c_void;
use std::ptr::{NonNull, null_mut};

pub use argon2::Block;
use rustix::mm::{self, Advice, MapFlags, ProtFlags};

/// The size of a transparent huge page on x86-64 and (with 4 KiB base pages) arm64.
pub const HUGE_PAGE: usize = 2 << 20;

/// argon2 blocks, reused: [`Memory::blocks`] maps them on first use and again only when a hash
/// needs more than the last one did.
#[derive(Default)]
pub struct Memory(Backing);

#[derive(Default)]
enum Backing {
    #[default]
    None,
    Mapped(Region),
    /// When the kernel refused a mapping (no address space left, say).
    Heap(Vec<Block>),
}

impl Memory {
    /// No memory yet.
    pub const fn new() -> Self {
        Self(Backing::None)
    }

    /// `n` blocks of the memory, mapped or grown first if it holds fewer. Blocks keep what the
    /// previous hash left in them; argon2 writes each block before it reads it.
    pub fn blocks(&mut self, n: usize) -> &mut [Block] {
        let fits = match &self.0 {
            Backing::None => n == 0,
            Backing::Mapped(r) => r.len >= n,
            Backing::Heap(v) => v.len() >= n,
        };
        if !fits {
            // The old memory goes before the new is mapped: one thread never holds two.
            self.0 = Backing::None;
            // Below one huge page (the tests' cheap cost) a mapping would only round the
            // memory up to 2 MiB.
            let region = (n.saturating_mul(Block::SIZE) >= HUGE_PAGE)
                .then(|| Region::map(n))
                .flatten();
            self.0 = match region {
                Some(r) => Backing::Mapped(r),
                None => Backing::Heap(vec![Block::default(); n]),
            };
        }
        match &mut self.0 {
            Backing::None => &mut [],
            Backing::Mapped(r) => r.slice(n),
            Backing::Heap(v) => &mut v[..n],
        }
    }

    /// Whether the blocks are in a mapping advised for huge pages (false before the first use,
    /// for less than one huge page, and where mapping failed).
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.0, Backing::Mapped(_))
    }

    /// The address of the first block, where there is one (to look it up in
    /// `/proc/self/smaps`).
    #[cfg(test)]
    fn address(&self) -> Option<usize> {
        match &self.0 {
            Backing::None => None,
            Backing::Mapped(r) => Some(r.blocks.as_ptr() as usize),
            Backing::Heap(v) => Some(v.as_ptr() as usize),
        }
    }
}

/// A private anonymous mapping holding `len` blocks from a 2 MiB boundary.
struct Region {
    /// The mapping as the kernel returned it, and its length, for `munmap`.
    map: NonNull<c_void>,
    map_len: usize,
    /// The first block: the first 2 MiB boundary in the mapping.
    blocks: NonNull<Block>,
    len: usize,
}

// SAFETY: a Region owns its mapping alone, as a `Vec<Block>` owns its buffer: no other pointer
// to it exists, so moving it to another thread moves sole access with it.
unsafe impl Send for Region {}

impl Region {
    /// Maps room for `n > 0` blocks from a 2 MiB boundary and advises the kernel to back them
    /// with huge pages. None if the kernel refuses the mapping.
    fn map(n: usize) -> Option<Self> {
        let len = n
            .checked_mul(Block::SIZE)?
            .checked_next_multiple_of(HUGE_PAGE)?;
        // One huge page more, so that a 2 MiB boundary with `len` bytes after it is inside.
        let map_len = len.checked_add(HUGE_PAGE)?;
        // SAFETY: a new private anonymous mapping at an address the kernel chooses; it cannot
        // overlap any memory this process already uses.
        let map = unsafe {
            mm::mmap_anonymous(
                null_mut(),
                map_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .ok()?;
        let map = NonNull::new(map)?;
        let skip = map.as_ptr().cast::<u8>().align_offset(HUGE_PAGE);
        let start = map.as_ptr().cast::<u8>().wrapping_add(skip);
        // Owned from here: every way out below unmaps it.
        let region = Self {
            map,
            map_len,
            blocks: NonNull::new(start.cast())?,
            len: n,
        };
        // Always true: the kernel's mappings are page-aligned, so `skip < HUGE_PAGE`.
        if skip.checked_add(len)? > map_len {
            return None;
        }
        // SAFETY: [start, start + len) lies inside the mapping made above, which nothing else
        // uses yet. MADV_HUGEPAGE changes only how the kernel backs the pages, never what they
        // hold. A kernel without transparent huge pages refuses it, and 4 KiB pages remain.
        let _ = unsafe { mm::madvise(start.cast(), len, Advice::LinuxHugepage) };
        Some(region)
    }

    fn slice(&mut self, n: usize) -> &mut [Block] {
        let n = n.min(self.len);
        // SAFETY: `blocks` is 2 MiB-aligned (more than Block's 64) and has `len ≥ n` blocks of
        // the mapping after it, readable and writable. The kernel zero-filled them and argon2
        // only wrote blocks since; any bits are a valid Block (128 u64s). The `&mut self`
        // borrow makes the slice the only access for as long as it lives.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), n) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `map` and `map_len` are exactly what `mmap_anonymous` returned and took, and
        // no slice into it outlives the `&mut self` borrow it came from.
        let _ = unsafe { mm::munmap(self.map.as_ptr(), self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Argon2, Params, Version};

    #[test]
    fn blocks_come_zeroed_writable_and_are_kept_from_one_use_to_the_next() {
        let mut m = Memory::new();
        assert!(m.blocks(0).is_empty());
        let b = m.blocks(3000);
        assert_eq!(b.len(), 3000);
        assert!(b.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        b[2999].as_mut()[127] = 42;
        let at = m.address();
        assert_eq!(m.blocks(3000)[2999].as_ref()[127], 42);
        assert_eq!(
            m.blocks(10).len(),
            10,
            "fewer blocks come from the same memory"
        );
        assert_eq!(m.address(), at);
    }

    #[test]
    fn asking_for_more_blocks_than_it_holds_maps_a_larger_memory() {
        let mut m = Memory::new();
        m.blocks(100);
        let b = m.blocks(5000);
        assert_eq!(b.len(), 5000);
        b[4999].as_mut()[0] = 7;
        assert_eq!(m.blocks(5000)[4999].as_ref()[0], 7);
    }

    #[test]
    fn the_first_block_starts_on_a_huge_page_boundary() {
        let mut m = Memory::new();
        m.blocks(HUGE_PAGE / Block::SIZE);
        assert!(m.is_mapped());
        assert_eq!(m.address().unwrap() % HUGE_PAGE, 0);
    }

    #[test]
    fn less_than_a_huge_page_is_an_ordinary_allocation_and_grows_into_a_mapping() {
        let mut m = Memory::new();
        assert_eq!(m.blocks(64).len(), 64);
        assert!(!m.is_mapped(), "64 KiB would have taken a whole 2 MiB page");
        assert_eq!(m.blocks(19 * 1024).len(), 19 * 1024);
        assert!(m.is_mapped());
    }

    #[test]
    fn a_hash_in_this_memory_equals_argon2s_own_and_is_the_same_when_the_memory_is_reused() {
        let params = Params::new(4096, 2, 1, Some(32)).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut theirs = [0u8; 32];
        argon
            .hash_password_into(b"correct horse", b"sixteen byte salt", &mut theirs)
            .unwrap();
        let mut m = Memory::new();
        for _ in 0..2 {
            let mut ours = [0u8; 32];
            argon
                .hash_password_into_with_memory(
                    b"correct horse",
                    b"sixteen byte salt",
                    &mut ours,
                    m.blocks(params.block_count()),
                )
                .unwrap();
            assert_eq!(ours, theirs);
        }
    }

    /// Where the kernel offers transparent huge pages (`always` or `madvise`), the blocks'
    /// mapping must be eligible for them: without the advice, `madvise` mode gives none.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_blocks_are_eligible_for_transparent_huge_pages_where_the_kernel_has_them() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if mode.is_empty() || mode.contains("[never]") {
            eprintln!("transparent huge pages are off here ({mode:?}): nothing to check");
            return;
        }
        let mut m = Memory::new();
        m.blocks(19 * 1024);
        let at = m.address().unwrap();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        let mut eligible = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((lo, hi)) = range.split_once('-')
                && let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = (lo..hi).contains(&at);
            } else if inside && let Some(v) = line.strip_prefix("THPeligible:") {
                eligible = Some(v.trim().to_string());
            }
        }
        assert_eq!(eligible.as_deref(), Some("1"), "THP mode {mode:?}");
    }
}
