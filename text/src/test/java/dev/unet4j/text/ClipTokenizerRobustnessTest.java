package dev.unet4j.text;

import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Untrusted prompts and broken tokenizer folders. */
class ClipTokenizerRobustnessTest {
    static Path dir;
    static ClipTokenizer tok;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        dir = Fixtures.fixture("clip-tokenizer");
        tok = ClipTokenizer.load(dir);
    }

    @Test
    void unpairedSurrogatesAreDroppedLikeOtherCategoryCCharacters() {
        // Python sees a lone surrogate as category Cs, which the cleaning drops: "a\uD800b" is "ab"
        for (String s : List.of("a\uD800b", "a\uDC00b", "\uD800ab", "ab\uDBFF", "a\uDC00\uD800b")) {
            assertEquals(tok.tokenize("ab"), tok.tokenize(s), s);
            assertArrayEquals(tok.encode("ab").inputIds(), tok.encode(s).inputIds(), s);
        }
        // a proper pair is a character: 😀 (U+1F600) is the bytes f0 9f 98 80 -> BPE tokens, not dropped
        assertTrue(tok.tokenize("\uD83D\uDE00").size() > 0);
    }

    @Test
    void controlCharactersVanishAndOnlyControlsGiveAnEmptyPrompt() {
        StringBuilder controls = new StringBuilder();
        for (char c = 0; c < 0x20; c++) if (c != '\t' && c != '\n' && c != '\r') controls.append(c);
        controls.append('\u007f').append('\u200b').append('\u200d').append('\ufeff').append('\u00ad').append('\ufffd');
        assertEquals(List.of(), tok.tokenize(controls.toString()));
        assertArrayEquals(new int[]{49406, 49407}, tok.encode(controls.toString()).ids());
        assertEquals(tok.tokenize("catdog"), tok.tokenize("cat" + controls + "dog"));
    }

    @Test
    void overlongPromptsAreRefusedAndTheLongestAcceptedIsFast() {
        String mb = "a ".repeat(1 << 19);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encode(mb));
        assertTrue(e.getMessage().contains("1048576 characters") && e.getMessage().contains("65536"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.encodeChunked(mb));
        assertThrows(IllegalArgumentException.class, () -> tok.encodeWeighted(mb));
        assertThrows(IllegalArgumentException.class, () -> tok.encode(null));
        String longest = "ab, ".repeat(ClipTokenizer.MAX_PROMPT_CHARS / 4);
        ClipEncoding enc = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> tok.encode(longest));
        assertEquals(77, enc.inputIds().length);
        assertTrue(enc.truncated());
        assertEquals(2 * (ClipTokenizer.MAX_PROMPT_CHARS / 4) + 2, enc.ids().length); // "ab" and "," per repeat
    }

    /** 32,768 unclosed {@code (a} took 36 s (a pass over the pieces per bracket) and gave the text weight 1.1^32768. */
    @Test
    void deepEmphasisNestingIsRefusedBeforeItCostsQuadraticTime() {
        String deep = "(a".repeat(ClipTokenizer.MAX_PROMPT_CHARS / 2);
        IllegalArgumentException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IllegalArgumentException.class, () -> tok.encodeWeighted(deep)));
        assertTrue(e.getMessage().contains("more than 256 brackets") && e.getMessage().contains("at character 512"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PromptWeights.parse("[".repeat(200) + "(".repeat(57)));
        // 256 deep is accepted, with the weight the webui gives: 1.1^128 / 1.1^128 = 1 for the innermost text
        List<PromptWeights.Piece> ok = PromptWeights.parse("(".repeat(128) + "[".repeat(128) + "x");
        assertEquals(1, ok.size());
        assertEquals(1.0, ok.get(0).weight(), 1e-9);
        // escaped brackets are text, not nesting
        assertEquals(List.of(new PromptWeights.Piece("(".repeat(300), 1.0)), PromptWeights.parse("\\(".repeat(300)));
    }

    @Test
    void emphasisWeightsBeyondFloat32AreRefused() {
        for (String p : List.of("(a:" + "9".repeat(400) + ")", "(a:1" + "0".repeat(39) + ")",
                "(((((((((a:100000):100000):100000):100000):100000):100000):100000):100000):100000)")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encodeWeighted(p), p);
            assertTrue(e.getMessage().contains("\"a\" the weight") && e.getMessage().contains("beyond float32"), e.getMessage());
        }
        // the largest float32 weight itself passes, and so do 0 and negative weights (the webui's (word:0), (word:-1))
        assertEquals(Float.MAX_VALUE, tok.encodeWeighted("(a:" + new java.math.BigDecimal(Float.MAX_VALUE).toPlainString() + ")").weights()[0][1]);
        assertEquals(0f, tok.encodeWeighted("(a:0)").weights()[0][1]);
        assertEquals(-1f, tok.encodeWeighted("(a:-1)").weights()[0][1]);
    }

    /** Bytes that are not UTF-8 reach the tokenizer as U+FFFD (how the JVM, Jackson's lenient modes and picocli decode them). */
    @Test
    void invalidUtf8IsTokenizedAsReplacementCharacters() {
        byte[] bad = {'c', 'a', 't', (byte) 0xC3, (byte) 0x28, ' ', (byte) 0xFF, (byte) 0xED, (byte) 0xA0, (byte) 0x80, 'd', 'o', 'g'};
        String decoded = new String(bad, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(decoded.indexOf('\uFFFD') >= 0);
        // transformers' _clean_text drops U+FFFD like a control character: what is left is the valid text
        assertEquals(tok.tokenize("cat( dog"), tok.tokenize(decoded));
        assertArrayEquals(tok.encodeWeighted("cat( dog").inputIds()[0], tok.encodeWeighted(decoded).inputIds()[0]);
    }

    @Test
    void sharedAcrossThreads() throws Exception {
        List<String> prompts = List.of("a photo of an astronaut riding a horse on mars", "café crème brûlée", "一只可爱的猫",
                "wow! amazing!! incredible!!! yes", "4k uhd 1080p 16:9 f/1.8 iso100");
        List<int[]> want = new ArrayList<>();
        for (String p : prompts) want.add(tok.encode(p).inputIds());
        ClipTokenizer shared = ClipTokenizer.load(dir);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int r = 0; r < 50; r++) {
                        for (int i = 0; i < prompts.size(); i++) {
                            if (!java.util.Arrays.equals(want.get(i), shared.encode(prompts.get(i)).inputIds())) return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    private Path folderWith(String name, String file, String content) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        for (String f : List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")) {
            if (!f.equals(file)) Files.copy(dir.resolve(f), d.resolve(f));
        }
        if (content != null) Files.writeString(d.resolve(file), content);
        return d;
    }

    private void assertLoadFails(Path folder, String... parts) {
        ModelException e = assertThrows(ModelException.class, () -> ClipTokenizer.load(folder));
        for (String p : parts) assertTrue(e.getMessage().contains(p), e.getMessage());
    }

    @Test
    void brokenFilesAreNamed() throws IOException {
        assertLoadFails(folderWith("no-vocab", "vocab.json", null), "vocab.json", "does not exist");
        assertLoadFails(folderWith("no-merges", "merges.txt", null), "merges.txt", "does not exist");
        assertLoadFails(folderWith("vocab-not-json", "vocab.json", "{\"a\": 1,"), "vocab.json", "not valid JSON");
        assertLoadFails(folderWith("vocab-list", "vocab.json", "[1, 2]"), "vocab.json", "JSON object");
        assertLoadFails(folderWith("vocab-string-id", "vocab.json", "{\"a\": \"x\"}"), "vocab.json", "\"a\"", "non-negative integer");
        assertLoadFails(folderWith("vocab-duplicate", "vocab.json", "{\"a\": 1, \"a\": 2}"), "vocab.json", "not valid JSON");
        assertLoadFails(folderWith("merges-empty", "merges.txt", "#version: 0.2\n"), "merges.txt", "no merges");
        Path d = folderWith("merges-binary", "merges.txt", null);
        Files.write(d.resolve("merges.txt"), new byte[]{'#', 'v', '\n', (byte) 0xC3, (byte) 0x28, ' ', 'a'});
        assertLoadFails(d, "merges.txt", "not valid UTF-8");
        assertLoadFails(folderWith("config-bad-json", "tokenizer_config.json", "{"), "tokenizer_config.json", "not valid JSON");
        assertLoadFails(folderWith("config-bad-length", "tokenizer_config.json", "{\"model_max_length\": \"77\"}"),
                "tokenizer_config.json", "model_max_length");
        assertLoadFails(folderWith("config-short-length", "tokenizer_config.json", "{\"model_max_length\": 1}"),
                "tokenizer_config.json", "model_max_length");
        assertLoadFails(folderWith("map-bad-pad", "special_tokens_map.json", "{\"pad_token\": 5}"), "special_tokens_map.json", "pad_token");
        assertLoadFails(folderWith("map-empty-token", "special_tokens_map.json", "{\"pad_token\": {\"content\": \"\"}}"),
                "special_tokens_map.json", "pad_token");
    }

    @Test
    void optionalConfigFilesFallBackToClipDefaults() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("bare"));
        Files.copy(dir.resolve("vocab.json"), d.resolve("vocab.json"));
        Files.copy(dir.resolve("merges.txt"), d.resolve("merges.txt"));
        ClipTokenizer bare = ClipTokenizer.load(d);
        assertEquals(49406, bare.bosTokenId());
        assertEquals(49407, bare.eosTokenId());
        assertEquals(49407, bare.padTokenId());
        assertEquals(77, bare.modelMaxLength());
        assertArrayEquals(tok.encode("a photo of an astronaut").inputIds(), bare.encode("a photo of an astronaut").inputIds());
        // transformers' "unset" model_max_length (int(1e30)) also means CLIP's 77
        Path unset = folderWith("unset-length", "tokenizer_config.json", "{\"model_max_length\": 1000000000000000019884624838656}");
        assertEquals(77, ClipTokenizer.load(unset).modelMaxLength());
    }

    @Test
    void addedAndAdditionalSpecialTokensAreNeverSplit() throws IOException {
        Path d = folderWith("extra", "special_tokens_map.json",
                "{\"additional_special_tokens\": [\"<extra>\", {\"content\": \"cat\", \"rstrip\": true}]}");
        Files.writeString(d.resolve("tokenizer_config.json"),
                "{\"added_tokens_decoder\": {\"49500\": {\"content\": \"<x>\", \"lstrip\": false, \"rstrip\": false}}}");
        ClipTokenizer t = ClipTokenizer.load(d);
        // a</w> 320, dog</w> 1929, b</w> 321 from vocab.json; "<x>" keeps its own id; "<extra>" is new and gets
        // transformers' len(get_vocab()) = 49408 vocab entries + 1 added token
        assertEquals(List.of("a</w>", "<extra>", "dog</w>", "<x>", "b</w>"), t.tokenize("a<extra>dog<x>b"));
        assertArrayEquals(new int[]{320, 49409, 1929, 49500, 321}, t.tokenIds("a<extra>dog<x>b"));
        // an added token that is a vocab entry ("cat", 1481) cuts the word: the pieces are tokenized on their own
        List<String> want = new ArrayList<>(tok.tokenize("con"));
        want.add("cat");
        want.addAll(tok.tokenize("enation"));
        assertEquals(want, t.tokenize("concatenation"));
        assertEquals(1481, t.tokenIds("concatenation")[want.indexOf("cat")]);
        assertNotEquals(want, tok.tokenize("concatenation"), "the plain tokenizer does not cut at cat");
    }
}
