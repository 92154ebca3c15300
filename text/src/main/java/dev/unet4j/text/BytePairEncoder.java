package dev.unet4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-pair encoding of one pre-token (a regex match, already mapped through {@link ByteToUnicode}): the last
 * symbol carries {@code </w>}, then the adjacent pair with the lowest merge rank is merged everywhere (left to right,
 * non-overlapping) until no ranked pair is left — {@code CLIPTokenizer.bpe}.
 *
 * <p>The same result as transformers' quadratic loop, found with a heap of candidate pairs so that a long word costs
 * {@code O(n log n)}: all occurrences of the lowest rank are taken from the heap before any pair they create, as the
 * loop does. Results of short words are cached, in a bounded, thread-safe map.
 */
final class BytePairEncoder {
    /** Words longer than this are not cached (they are rare, and would let one prompt fill the cache). */
    static final int CACHE_MAX_WORD_CHARS = 64;
    /** Cached words at most; once full, new words are encoded without being cached. */
    static final int CACHE_MAX_ENTRIES = 16_384;
    private static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> ranks;     // "first second" -> merge rank
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    /** @param ranks {@code "first second"} (one space) to rank, lower merges first */
    BytePairEncoder(Map<String, Integer> ranks) {
        this.ranks = Map.copyOf(ranks);
    }

    int mergeCount() {
        return ranks.size();
    }

    /** The BPE symbols of {@code word} (non-empty, byte-level characters). */
    List<String> encode(String word) {
        List<String> hit = cache.get(word);
        if (hit != null) return hit;
        List<String> symbols = List.copyOf(merge(word));
        if (word.length() <= CACHE_MAX_WORD_CHARS && cache.size() < CACHE_MAX_ENTRIES) cache.putIfAbsent(word, symbols);
        return symbols;
    }

    int cacheSize() {
        return cache.size();
    }

    private List<String> merge(String word) {
        int n = word.length();
        String[] sym = new String[n];
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = i == n - 1 ? word.charAt(i) + END_OF_WORD : String.valueOf(word.charAt(i));
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // (rank, position of the pair's left symbol); a node keeps its position when it absorbs its right neighbour
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        for (int i = 0; i + 1 < n; i++) push(heap, sym, i, i + 1);
        List<Integer> merged = new ArrayList<>();
        while (!heap.isEmpty()) {
            long rank = heap.peek()[0];
            merged.clear();
            // every heap entry of this rank is the same pair; take them all (in position order) before new pairs
            while (!heap.isEmpty() && heap.peek()[0] == rank) {
                int left = (int) heap.poll()[1];
                int right = next[left];
                // stale entries: the left node was absorbed (prev of a dead node is set to -2) or changed
                if (prev[left] == -2 || right < 0) continue;
                Integer r = ranks.get(sym[left] + " " + sym[right]);
                if (r == null || r != rank) continue;
                sym[left] = sym[left] + sym[right];
                next[left] = next[right];
                if (next[right] >= 0) prev[next[right]] = left;
                prev[right] = -2;
                merged.add(left);
            }
            for (int left : merged) {
                if (prev[left] == -2) continue;
                if (prev[left] >= 0) push(heap, sym, prev[left], left);
                if (next[left] >= 0) push(heap, sym, left, next[left]);
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i >= 0; i = next[i]) out.add(sym[i]);
        return out;
    }

    private void push(PriorityQueue<long[]> heap, String[] sym, int left, int right) {
        Integer r = ranks.get(sym[left] + " " + sym[right]);
        if (r != null) heap.add(new long[]{r, left});
    }
}
