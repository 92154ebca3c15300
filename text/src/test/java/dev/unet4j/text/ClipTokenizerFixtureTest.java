package dev.unet4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every prompt of {@code clip-tokenizer/cases.json} (transformers' slow CLIPTokenizer) in both tokenizer styles: SD 1.x
 * (pad {@code <|endoftext|>}) and SD 2.x / SDXL {@code tokenizer_2} (pad {@code "!"}).
 */
class ClipTokenizerFixtureTest {
    static JsonNode cases;
    static ClipTokenizer sd15;
    static ClipTokenizer padBang;

    @BeforeAll
    static void load(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.fixture("clip-tokenizer");
        cases = new ObjectMapper().readTree(dir.resolve("cases.json").toFile()).get("cases");
        sd15 = ClipTokenizer.load(dir);
        // pad-exclamation/ holds only the two config files; vocab and merges are the parent's
        for (String f : List.of("vocab.json", "merges.txt")) Files.copy(dir.resolve(f), tmp.resolve(f));
        for (String f : List.of("tokenizer_config.json", "special_tokens_map.json")) Files.copy(dir.resolve("pad-exclamation").resolve(f), tmp.resolve(f));
        padBang = ClipTokenizer.load(tmp);
    }

    @TestFactory
    Stream<DynamicTest> everyCaseBothStyles() {
        List<DynamicTest> tests = new ArrayList<>();
        assertEquals(40, cases.size());
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            tests.add(DynamicTest.dynamicTest(c.get("id").asText() + " sd15", () -> check(sd15, prompt, c.get("sd15"))));
            tests.add(DynamicTest.dynamicTest(c.get("id").asText() + " pad_bang", () -> check(padBang, prompt, c.get("pad_bang"))));
        }
        return tests.stream();
    }

    private static void check(ClipTokenizer tok, String prompt, JsonNode want) {
        List<String> tokens = new ArrayList<>();
        want.get("tokens").forEach(t -> tokens.add(t.asText()));
        assertEquals(tokens, tok.tokenize(prompt), "tokens");
        ClipEncoding e = tok.encode(prompt);
        assertEquals(tokens, e.tokens(), "encoding tokens");
        assertArrayEquals(ints(want.get("ids")), e.ids(), "ids");
        assertArrayEquals(ints(want.get("input_ids")), e.inputIds(), "input_ids");
        assertArrayEquals(ints(want.get("attention_mask")), e.attentionMask(), "attention_mask");
        assertEquals(want.get("truncated").asBoolean(), e.truncated(), "truncated");
        int[] ids = ints(want.get("ids"));
        assertArrayEquals(java.util.Arrays.copyOfRange(ids, 1, ids.length - 1), tok.tokenIds(prompt), "tokenIds");
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
