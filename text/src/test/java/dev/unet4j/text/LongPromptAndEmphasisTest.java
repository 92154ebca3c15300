package dev.unet4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 75-token windows for long prompts (A1111 / compel) and A1111's emphasis syntax. */
class LongPromptAndEmphasisTest {
    static ClipTokenizer tok;
    static JsonNode cases;

    @BeforeAll
    static void load() throws IOException {
        Path dir = Fixtures.fixture("clip-tokenizer");
        tok = ClipTokenizer.load(dir);
        cases = new ObjectMapper().readTree(dir.resolve("cases.json").toFile()).get("cases");
    }

    private static JsonNode fixtureCase(String id) {
        for (JsonNode c : cases) if (c.get("id").asText().equals(id)) return c;
        throw new IllegalStateException(id);
    }

    @Test
    void longPromptIsCutIntoWindowsOf75() {
        JsonNode c = fixtureCase("long_truncated");
        int[] all = ClipTokenizerFixtureTest.ints(c.get("sd15").get("ids"));   // bos + 90 ids + eos, not truncated
        int[] body = Arrays.copyOfRange(all, 1, all.length - 1);
        assertEquals(90, body.length);
        ClipChunks chunks = tok.encodeChunked(c.get("prompt").asText());
        assertEquals(2, chunks.count());
        int[] row0 = new int[77], row1 = new int[77];
        row0[0] = 49406;
        System.arraycopy(body, 0, row0, 1, 75);
        row0[76] = 49407;
        Arrays.fill(row1, 49407);
        row1[0] = 49406;
        System.arraycopy(body, 75, row1, 1, 15);
        assertArrayEquals(row0, chunks.inputIds()[0]);
        assertArrayEquals(row1, chunks.inputIds()[1]);
        int[] mask1 = new int[77];
        Arrays.fill(mask1, 0, 17, 1);
        assertArrayEquals(new int[77], subtractOnes(chunks.attentionMask()[0]));
        assertArrayEquals(mask1, chunks.attentionMask()[1]);
        // the first window is exactly what the truncating encode gives
        assertArrayEquals(ClipTokenizerFixtureTest.ints(c.get("sd15").get("input_ids")), chunks.inputIds()[0]);
        for (float[] w : chunks.weights()) for (float x : w) assertEquals(1f, x);
    }

    private static int[] subtractOnes(int[] mask) {
        int[] out = new int[mask.length];
        for (int i = 0; i < mask.length; i++) out[i] = mask[i] - 1;
        return out;
    }

    @Test
    void shortAndEmptyPromptsAreOneWindow() {
        JsonNode c = fixtureCase("sd_negative");
        ClipChunks chunks = tok.encodeChunked(c.get("prompt").asText());
        assertEquals(1, chunks.count());
        assertArrayEquals(ClipTokenizerFixtureTest.ints(c.get("sd15").get("input_ids")), chunks.inputIds()[0]);
        assertArrayEquals(ClipTokenizerFixtureTest.ints(c.get("sd15").get("attention_mask")), chunks.attentionMask()[0]);
        ClipChunks empty = tok.encodeChunked("");
        assertEquals(1, empty.count());
        assertArrayEquals(ClipTokenizerFixtureTest.ints(fixtureCase("empty").get("sd15").get("input_ids")), empty.inputIds()[0]);
    }

    /** The examples of {@code parse_prompt_attention}'s docstring in stable-diffusion-webui. */
    @Test
    void a1111ParserExamples() {
        assertPieces("normal text", "normal text", 1.0);
        assertPieces("an (important) word", "an ", 1.0, "important", 1.1, " word", 1.0);
        assertPieces("(unbalanced", "unbalanced", 1.1);
        assertPieces("\\(literal\\]", "(literal]", 1.0);
        assertPieces("(unnecessary)(parens)", "unnecessaryparens", 1.1);
        assertPieces("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
                "a ", 1.0, "house", 1.5730000000000004, " ", 1.1, "on", 1.0, " a ", 1.1, "hill", 0.55,
                ", sun, ", 1.1, "sky", 1.4641000000000006, ".", 1.1);
        assertPieces("", "", 1.0);
        assertPieces("[faded]", "faded", 1 / 1.1);
        assertPieces("a:b (c:x) d", "a", 1.0, ":", 1.0, "b ", 1.0, "c", 1.1, ":", 1.1, "x", 1.1, " d", 1.0);
    }

    private static void assertPieces(String prompt, Object... expected) {
        List<PromptWeights.Piece> got = PromptWeights.parse(prompt);
        // the parser merges equal neighbours, so compare after merging the expectation the same way
        StringBuilder want = new StringBuilder(), have = new StringBuilder();
        for (int i = 0; i < expected.length; i += 2) want.append(expected[i]).append('|').append(expected[i + 1]).append(';');
        for (PromptWeights.Piece p : got) have.append(p.text()).append('|').append(p.weight()).append(';');
        assertEquals(merge(want.toString()), have.toString(), prompt);
    }

    private static String merge(String pieces) {
        String[] parts = pieces.split(";");
        StringBuilder out = new StringBuilder();
        String text = null, weight = null;
        for (String part : parts) {
            int bar = part.lastIndexOf('|');
            String t = part.substring(0, bar), w = part.substring(bar + 1);
            if (w.equals(weight)) {
                text += t;
            } else {
                if (text != null) out.append(text).append('|').append(weight).append(';');
                text = t;
                weight = w;
            }
        }
        out.append(text).append('|').append(weight).append(';');
        return out.toString();
    }

    @Test
    void weightedEncodingTokenizesEachPieceAndCarriesItsWeight() {
        ClipChunks c = tok.encodeWeighted("a (cat:1.5) dog");
        assertEquals(1, c.count());
        // a</w> 320, cat</w> 2368, dog</w> 1929 (clip-tokenizer case special_token_text)
        assertArrayEquals(new int[]{49406, 320, 2368, 1929, 49407, 49407}, Arrays.copyOf(c.inputIds()[0], 6));
        assertArrayEquals(new float[]{1f, 1f, 1.5f, 1f, 1f, 1f}, Arrays.copyOf(c.weights()[0], 6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encodeWeighted("(cat:1.2.3)"));
        assertTrue(e.getMessage().contains("1.2.3"), e.getMessage());
    }

    private static int[] row(int... tokens) {
        int[] r = new int[77];
        Arrays.fill(r, 49407);
        r[0] = 49406;
        System.arraycopy(tokens, 0, r, 1, tokens.length);
        return r;
    }

    private static int[] repeat(int token, int n) {
        int[] r = new int[n];
        Arrays.fill(r, token);
        return r;
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void weightedEncodingClosesAFullWindowAfterARecentComma() {
        final int cat = 2368, dog = 1929, comma = 267;
        String prompt = "cat ".repeat(70) + ", " + "dog ".repeat(20);
        // webui: the window fills 5 tokens after the comma (<= 20), so it ends at the comma and the 4 dogs move on
        ClipChunks a1111 = tok.encodeWeighted(prompt);
        assertEquals(2, a1111.count());
        assertArrayEquals(row(concat(repeat(cat, 70), new int[]{comma})), a1111.inputIds()[0]);
        assertArrayEquals(row(repeat(dog, 20)), a1111.inputIds()[1]);
        int[] mask0 = new int[77];
        Arrays.fill(mask0, 0, 73, 1);
        assertArrayEquals(mask0, a1111.attentionMask()[0]);
        // compel-style windows cut at 75 regardless
        ClipChunks plain = tok.encodeChunked(prompt);
        assertArrayEquals(row(concat(repeat(cat, 70), new int[]{comma}, repeat(dog, 4))), plain.inputIds()[0]);
        assertArrayEquals(row(repeat(dog, 16)), plain.inputIds()[1]);
        // a comma further back than 20 tokens does not move anything
        ClipChunks far = tok.encodeWeighted("cat, " + "dog ".repeat(80));
        assertArrayEquals(row(concat(new int[]{cat, comma}, repeat(dog, 73))), far.inputIds()[0]);
        assertArrayEquals(row(repeat(dog, 7)), far.inputIds()[1]);
    }

    @Test
    void breakStartsANewWindow() {
        ClipChunks c = tok.encodeWeighted("a cat BREAK a (dog:1.2)");
        assertEquals(2, c.count());
        assertArrayEquals(row(320, 2368), c.inputIds()[0]);
        assertArrayEquals(row(320, 1929), c.inputIds()[1]);
        assertEquals(1.2f, c.weights()[1][2], 1e-6f);
        assertEquals(1f, c.weights()[1][1]);
        // lower case, or inside brackets (its weight is no longer -1), it is a word
        assertArrayEquals(row(320, 2368, 2568, 320, 1929), tok.encodeWeighted("a cat break a dog").inputIds()[0]);
        List<PromptWeights.Piece> inBrackets = PromptWeights.parse("(x BREAK y)");
        assertEquals(List.of(new PromptWeights.Piece("x", 1.1), new PromptWeights.Piece("BREAK", -1.1), new PromptWeights.Piece("y", 1.1)),
                inBrackets);
        assertTrue(inBrackets.stream().noneMatch(PromptWeights.Piece::isBreak));
        assertEquals(List.of(new PromptWeights.Piece("a", 1.0), new PromptWeights.Piece("BREAK", -1.0), new PromptWeights.Piece("b", 1.0)),
                PromptWeights.parse("a BREAK b"));
        // as the webui's next_chunk(): a BREAK closes the window even when empty; a trailing one adds nothing
        assertEquals(1, tok.encodeWeighted("BREAK").count());
        assertEquals(1, tok.encodeWeighted("a BREAK").count());
        ClipChunks leading = tok.encodeWeighted("BREAK a");
        assertEquals(2, leading.count());
        assertArrayEquals(row(), leading.inputIds()[0]);
        assertArrayEquals(row(320), leading.inputIds()[1]);
    }
}
