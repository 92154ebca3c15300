package dev.unet4j.text;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every stored output of {@code clip-text-encoder-tiny} (transformers' CLIPTextModel / CLIPTextModelWithProjection,
 * cross-checked there against openai/CLIP) on both backends: plain, masked, short and edge inputs.
 */
class ClipTextModelFixtureTest {

    static Stream<Arguments> cases() {
        return Stream.of("sd", "proj").flatMap(m -> Stream.of(Arguments.of(m, "reference"), Arguments.of(m, "onednn")));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void everyStoredOutput(String m, String backend) throws Exception {
        Kernels kernels = EncoderFixture.kernels(backend);
        try (ClipTextModel model = ClipTextModel.load(EncoderFixture.modelDir(m), kernels);
             SafetensorsFile in = SafetensorsFile.open(EncoderFixture.dir().resolve("inputs.safetensors"));
             SafetensorsFile out = SafetensorsFile.open(EncoderFixture.dir().resolve("outputs.safetensors"))) {
            boolean proj = m.equals("proj");
            assertEquals(proj, model.hasProjection());
            assertEquals(proj, model instanceof ClipTextModelWithProjection);
            String what = m + "/" + backend;

            try (ClipTextOutput o = model.encode(EncoderFixture.ints(in, "input_ids"))) {
                EncoderFixture.assertClose(what, out, m + ".last_hidden_state", o.lastHiddenState());
                assertEquals(model.config().numHiddenLayers() + 1, o.hiddenStates().size());
                for (int i = 0; i < o.hiddenStates().size(); i++) {
                    EncoderFixture.assertClose(what, out, m + ".hidden_states." + i, o.hiddenStates().get(i));
                }
                assertTrue(o.hiddenState(-2) == o.hiddenStates().get(o.hiddenStates().size() - 2));
                EncoderFixture.assertClose(what, out, m + ".pooler_output", o.pooledOutput());
                if (proj) EncoderFixture.assertClose(what, out, "proj.text_embeds", o.textEmbeds());
                else assertNull(o.textEmbeds());
            }
            try (ClipTextOutput o = model.encode(EncoderFixture.ints(in, "input_ids"), EncoderFixture.ints(in, "attention_mask"))) {
                EncoderFixture.assertClose(what, out, m + ".masked.last_hidden_state", o.lastHiddenState());
                EncoderFixture.assertClose(what, out, m + ".masked.pooler_output", o.pooledOutput());
                if (proj) EncoderFixture.assertClose(what, out, "proj.masked.text_embeds", o.textEmbeds());
            }
            try (ClipTextOutput o = model.encode(EncoderFixture.ints(in, "input_ids_short"), null, false)) {
                assertTrue(o.hiddenStates().isEmpty());
                EncoderFixture.assertClose(what, out, m + ".short.last_hidden_state", o.lastHiddenState());
                EncoderFixture.assertClose(what, out, m + ".short.pooler_output", o.pooledOutput());
                if (proj) EncoderFixture.assertClose(what, out, "proj.short.text_embeds", o.textEmbeds());
            }
            try (ClipTextOutput o = model.encode(EncoderFixture.ints(in, "input_ids_edge"))) {
                EncoderFixture.assertClose(what, out, m + ".edge.last_hidden_state", o.lastHiddenState());
                EncoderFixture.assertClose(what, out, m + ".edge.pooler_output.transformers_4_45", o.pooledOutput());
            }
        }
    }
}
