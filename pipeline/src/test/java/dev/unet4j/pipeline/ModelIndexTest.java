package dev.unet4j.pipeline;

import dev.unet4j.core.checkpoint.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code model_index.json} through the one config reader: what diffusers writes is read, what it never writes is refused by name. */
class ModelIndexTest {
    @TempDir
    Path dir;

    private ModelIndex index(String json) throws IOException {
        Files.writeString(dir.resolve("model_index.json"), json);
        return ModelIndex.load(dir);
    }

    @Test
    void readsComponentsSkippingNonesAndFlags() throws IOException {
        // the SD 1.5 model_index.json as diffusers 0.31 saves it (abridged)
        ModelIndex m = index("""
                {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.31.0",
                 "feature_extractor": [null, null], "requires_safety_checker": false,
                 "safety_checker": [null, null], "scheduler": ["diffusers", "PNDMScheduler"],
                 "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}""");
        assertEquals("StableDiffusionPipeline", m.className());
        assertEquals(Map.of("scheduler", new ModelIndex.Component("diffusers", "PNDMScheduler"),
                "text_encoder", new ModelIndex.Component("transformers", "CLIPTextModel"),
                "tokenizer", new ModelIndex.Component("transformers", "CLIPTokenizer"),
                "unet", new ModelIndex.Component("diffusers", "UNet2DConditionModel"),
                "vae", new ModelIndex.Component("diffusers", "AutoencoderKL")), m.components());
        assertTrue(m.forceZerosForEmptyPrompt(), "absent: diffusers' default True");
        assertFalse(m.requiresAestheticsScore());
        ModelIndex xl = index("""
                {"_class_name": "StableDiffusionXLImg2ImgPipeline", "force_zeros_for_empty_prompt": false,
                 "requires_aesthetics_score": true}""");
        assertFalse(xl.forceZerosForEmptyPrompt());
        assertTrue(xl.requiresAestheticsScore());
    }

    @Test
    void malformedEntriesAreRefusedNamingFileAndKey() {
        String[][] cases = {
                {"{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\"]}", "key 'unet'"},
                {"{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", 3]}", "key 'unet'"},
                {"{\"_class_name\": \"StableDiffusionPipeline\", \"force_zeros_for_empty_prompt\": \"yes\"}", "key 'force_zeros_for_empty_prompt'"},
                {"{\"_class_name\": 7}", "_class_name"},
                {"{\"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}", "no _class_name"},
                {"[1, 2]", "not a JSON object"},
        };
        for (String[] c : cases) {
            ModelException e = assertThrows(ModelException.class, () -> index(c[0]), c[0]);
            assertTrue(e.getMessage().contains("model_index.json") && e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
