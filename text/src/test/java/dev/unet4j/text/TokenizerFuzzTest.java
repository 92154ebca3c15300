package dev.unet4j.text;

import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random code points (any plane, unassigned, surrogates alone or paired, combining marks, controls, brackets), bytes
 * that are not UTF-8 decoded as a request body is, and emphasis syntax with weights beyond float32: the tokenizer and
 * the emphasis parser never fail from inside, every result is well formed, every weight finite; the emphasis parser
 * refuses only with its own "prompt emphasis" messages. {@code -Dunet4j.fuzz.iterations=N} ({@code -Plong}: 200,000)
 * runs longer than the default 1,000.
 */
class TokenizerFuzzTest {
    private static final String SOUP = "()[]:\\.0123456789 ,!<|>abcXYZ\t\n";

    @Test
    void randomPromptsGiveWellFormedEncodings() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(Fixtures.fixture("clip-tokenizer"));
        Random rnd = new Random(2024);
        int iterations = Integer.getInteger("unet4j.fuzz.iterations", 0) > 0 ? Integer.getInteger("unet4j.fuzz.iterations") : 1000;
        int weighted = 0;
        int refused = 0;
        for (int n = 0; n < iterations; n++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(n % 50 == 0 ? 2000 : 60);
            for (int i = 0; i < len; i++) {
                int kind = rnd.nextInt(6);
                if (kind == 0) sb.append((char) rnd.nextInt(0x10000));                          // any UTF-16 unit
                else if (kind == 1) sb.appendCodePoint(0x10000 + rnd.nextInt(Character.MAX_CODE_POINT + 1 - 0x10000)); // supplementary
                else if (kind == 2) sb.append(SOUP.charAt(rnd.nextInt(SOUP.length())));
                else if (kind == 3) sb.append((char) (0x300 + rnd.nextInt(0x70)));               // combining marks
                else if (kind == 4) sb.append((char) rnd.nextInt(0x20));                          // controls
                else sb.append((char) ('a' + rnd.nextInt(26)));
            }
            if (n % 10 == 0) { // bytes from a request body that are not all UTF-8, decoded as a server decodes them
                byte[] raw = new byte[rnd.nextInt(200)];
                rnd.nextBytes(raw);
                sb.append(new String(raw, java.nio.charset.StandardCharsets.UTF_8));
            }
            if (n % 7 == 0) { // emphasis syntax: brackets, weights (some beyond float32), escapes, BREAK
                String[] parts = {"(", ")", "[", "]", ":", ":1.5)", ":0)", ":-2)", ":" + "9".repeat(1 + rnd.nextInt(60)) + ")", "\\(", "BREAK", " "};
                for (int i = rnd.nextInt(40); i > 0; i--) sb.insert(rnd.nextInt(sb.length() + 1), parts[rnd.nextInt(parts.length)]);
            }
            String prompt = sb.toString();
            ClipEncoding e = tok.encode(prompt);
            assertEquals(77, e.inputIds().length);
            assertEquals(77, e.attentionMask().length);
            assertEquals(e.tokens().size() + 2, e.ids().length);
            for (int id : e.ids()) assertTrue(id >= 0 && id < tok.vocabSize(), prompt);
            ClipChunks c = tok.encodeChunked(prompt);
            assertEquals(Math.max(1, (e.ids().length - 2 + 74) / 75), c.count());
            try {
                ClipChunks w = tok.encodeWeighted(prompt);
                for (float[] row : w.weights()) for (float x : row) assertTrue(Float.isFinite(x), prompt);
                weighted++;
            } catch (IllegalArgumentException bad) {
                assertTrue(bad.getMessage().startsWith("prompt emphasis"), bad.getMessage());
                refused++;
            }
        }
        System.out.printf("prompt fuzz: %d prompts tokenized, %d weighted, %d emphasis refused%n", iterations, weighted, refused);
        assertTrue(weighted > 0 && refused > 0, weighted + " weighted, " + refused + " refused");
    }
}
