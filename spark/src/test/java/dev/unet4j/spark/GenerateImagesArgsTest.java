package dev.unet4j.spark;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example job's command line, without Spark. */
class GenerateImagesArgsTest {

    @Test
    void parsesEveryOption() {
        GenerateImages.Args a = GenerateImages.Args.parse("--model", "m", "--prompts", "p.csv", "--out", "o.parquet",
                "--png-dir", "png", "--sampler", "euler", "--steps", "12", "--guidance", "4.5", "--cache", "deepcache:interval=3",
                "--quant", "int8", "--strength", "0.6", "--batch-size", "4", "--partitions", "9", "--truncate-prompts");
        assertEquals(new GenerateImages.Args("m", "p.csv", "o.parquet", "png", "euler", 12, 4.5, "deepcache:interval=3",
                "int8", 0.6, 4, 9, true), a);
        Unet4jGenerator g = a.generator();
        GeneratorSettings s = g.settings();
        assertEquals(new GeneratorSettings("m", "euler", 12, 4.5, "deepcache:interval=3", "int8", 0.6, -1, 4, true), s);
    }

    @Test
    void refusesMissingUnknownAndMalformedOptions() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> GenerateImages.Args.parse("--model", "m"));
        assertTrue(missing.getMessage().startsWith("missing --prompts, --out\nusage: GenerateImages"), missing.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> GenerateImages.Args.parse("--modle", "m"));
        assertTrue(unknown.getMessage().startsWith("unknown option --modle\n"), unknown.getMessage());
        IllegalArgumentException steps = assertThrows(IllegalArgumentException.class, () -> GenerateImages.Args.parse("--steps", "many"));
        assertEquals("--steps needs an integer, got 'many'", steps.getMessage());
        IllegalArgumentException dangling = assertThrows(IllegalArgumentException.class, () -> GenerateImages.Args.parse("--out"));
        assertTrue(dangling.getMessage().startsWith("--out needs a value\n"), dangling.getMessage());
        IllegalArgumentException format = assertThrows(IllegalArgumentException.class, () -> GenerateImages.read(null, "p.txt"));
        assertEquals("--prompts p.txt: use a .csv, .json (JSON lines) or .parquet file", format.getMessage());
    }
}
