package dev.unet4j.text;

import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The heap-based BPE against a plain transcription of transformers' {@code CLIPTokenizer.bpe} loop. */
class BytePairEncoderTest {
    static Map<String, Integer> ranks;
    static BytePairEncoder bpe;

    @BeforeAll
    static void load() throws IOException {
        ranks = TokenizerFiles.readMerges(Fixtures.fixture("clip-tokenizer").resolve("merges.txt"));
        bpe = new BytePairEncoder(ranks);
    }

    /** {@code CLIPTokenizer.bpe} as written in transformers: lowest-ranked pair, merged left to right, repeat. */
    static List<String> reference(String token) {
        List<String> word = new ArrayList<>();
        for (int i = 0; i < token.length() - 1; i++) word.add(String.valueOf(token.charAt(i)));
        word.add(token.charAt(token.length() - 1) + "</w>");
        while (word.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = word.get(i) + " " + word.get(i + 1);
                }
            }
            if (best == null) break;
            String first = best.substring(0, best.indexOf(' ')), second = best.substring(best.indexOf(' ') + 1);
            List<String> next = new ArrayList<>();
            int i = 0;
            while (i < word.size()) {
                int j = word.subList(i, word.size()).indexOf(first);
                if (j < 0) {
                    next.addAll(word.subList(i, word.size()));
                    break;
                }
                next.addAll(word.subList(i, i + j));
                i += j;
                if (i < word.size() - 1 && word.get(i + 1).equals(second)) {
                    next.add(first + second);
                    i += 2;
                } else {
                    next.add(word.get(i));
                    i += 1;
                }
            }
            word = next;
        }
        return word;
    }

    @Test
    void equalsTheTransformersLoopOnRandomAndRepetitiveWords() {
        Random rnd = new Random(7);
        String[] alphabets = {"abcdefghijklmnopqrstuvwxyz", "aeiou", "ab", "a", "!.,?-", "0123456789", "ÃĤĠçåıä¸¨"};
        int checked = 0;
        for (int n = 0; n < 4000; n++) {
            String alpha = alphabets[n % alphabets.length];
            int len = 1 + rnd.nextInt(n % 10 == 0 ? 200 : 24);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < len; i++) sb.append(alpha.charAt(rnd.nextInt(alpha.length())));
            String w = sb.toString();
            assertEquals(reference(w), bpe.encode(w), w);
            checked++;
        }
        for (String w : List.of("aaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababab", "!!!!!!!!!!!!!", "mississippi", "lowres", "zzzzzzz")) {
            assertEquals(reference(w), bpe.encode(w), w);
        }
        assertTrue(checked == 4000);
    }

    @Test
    void longWordsStayFast() {
        StringBuilder sb = new StringBuilder();
        Random rnd = new Random(3);
        while (sb.length() < ClipTokenizer.MAX_PROMPT_CHARS) sb.append((char) ('a' + rnd.nextInt(26)));
        String w = sb.toString();
        List<String> out = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> bpe.encode(w));
        assertEquals(w + "</w>", String.join("", out));
        // a 2,000-char word against the quadratic reference
        assertEquals(reference(w.substring(0, 2000)), bpe.encode(w.substring(0, 2000)));
    }

    @Test
    void cacheIsBounded() {
        BytePairEncoder fresh = new BytePairEncoder(ranks);
        Set<String> words = new HashSet<>();
        Random rnd = new Random(11);
        while (words.size() < BytePairEncoder.CACHE_MAX_ENTRIES + 5000) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 8; i++) sb.append((char) ('a' + rnd.nextInt(26)));
            words.add(sb.toString());
        }
        for (String w : words) fresh.encode(w);
        assertEquals(BytePairEncoder.CACHE_MAX_ENTRIES, fresh.cacheSize());
        String longWord = "x".repeat(BytePairEncoder.CACHE_MAX_WORD_CHARS + 1);
        BytePairEncoder other = new BytePairEncoder(ranks);
        other.encode(longWord);
        assertEquals(0, other.cacheSize(), "long words are not cached");
    }
}
