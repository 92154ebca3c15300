package dev.unet4j.spark;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The transformer over the bundled text-to-image demo model ({@code digits-text-32}, the CLI's {@code demo-text}) on
 * an in-process {@code local[2]} session. The truth is the library itself: {@link StableDiffusion#generate} with the
 * same prompt, seed and settings, loaded separately in the test, outside Spark. Tiny runs (3 DDIM steps at 32x32).
 */
class Unet4jGeneratorTest {
    static final int STEPS = 3;
    static final double GUIDANCE = 3.0;
    static final String[] DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    static final StructType REQUESTS = new StructType()
            .add("id", DataTypes.IntegerType, false)
            .add("prompt", DataTypes.StringType, true)
            .add("negative_prompt", DataTypes.StringType, true)
            .add("seed", DataTypes.LongType, true);

    static Path model;
    static StableDiffusion library;
    static final Map<String, Image> expected = new HashMap<>();

    @BeforeAll
    static void load() throws Exception {
        model = Fixtures.model("digits-text-32");
        library = StableDiffusion.load(model, PipelineOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (library != null) library.close();
    }

    static Unet4jGenerator generator() {
        return new Unet4jGenerator().setModelPath(model.toString()).setSampler("ddim").setSteps(STEPS).setGuidance(GUIDANCE);
    }

    /** The library's image for a request, computed once per (prompt, negative prompt, seed, steps). */
    static synchronized Image libraryImage(String prompt, String negative, long seed, int steps) {
        return expected.computeIfAbsent(prompt + "|" + negative + "|" + seed + "|" + steps, k -> library.generate(
                TextToImage.of(prompt).negativePrompt(negative).scheduler("ddim").steps(steps).guidance(GUIDANCE).seed(seed))
                .images().get(0));
    }

    static List<Row> fortyRows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String prompt = "a handwritten " + DIGITS[i % 10];
            rows.add(RowFactory.create(i, prompt, i % 3 == 0 ? "blurry" : null, (long) (1000 + 7 * i)));
        }
        return rows;
    }

    static Dataset<Row> frame(List<Row> rows, StructType schema, int partitions) {
        SparkSession spark = SparkTesting.spark();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(rows, partitions), schema);
    }

    static Map<Integer, Row> byId(Dataset<Row> out) {
        Map<Integer, Row> m = new HashMap<>();
        for (Row r : out.collectAsList()) m.put(r.getInt(r.fieldIndex("id")), r);
        return m;
    }

    static void assertSameImage(Image want, byte[] png, String what) throws Exception {
        assertNotNull(png, what + ": no image");
        Image got = PngReader.decode(png, what, PngReader.DEFAULT_MAX_PIXELS);
        assertEquals(want.width(), got.width(), what);
        assertEquals(want.height(), got.height(), what);
        assertEquals(want.channels(), got.channels(), what);
        assertArrayEquals(want.pixels(), got.pixels(), what + ": pixels differ from the library's");
    }

    @Test
    void fortyRowsOverFourPartitionsEqualTheLibrary() throws Exception {
        List<Row> rows = fortyRows();
        Dataset<Row> in = frame(rows, REQUESTS, 4);
        assertEquals(4, in.rdd().getNumPartitions());
        Map<Integer, Row> out = byId(generator().transform(in));
        assertEquals(40, out.size());
        for (Row want : rows) {
            int id = want.getInt(0);
            Row got = out.get(id);
            assertNull(got.getAs("error"), "row " + id);
            assertEquals(want.getLong(3), (long) got.getAs("seed"), "row " + id + " seed");
            assertEquals(model.toString(), got.getAs("model"));
            assertTrue(((String) got.getAs("settings")).contains("\"sampler\":\"ddim\",\"steps\":3,\"guidance\":3.0,\"height\":32,\"width\":32"),
                    (String) got.getAs("settings"));
            assertSameImage(libraryImage(want.getString(1), want.getString(2), want.getLong(3), STEPS), got.getAs("image"), "row " + id);
        }
        // the image really depends on the seed: two seeds of one prompt differ
        assertTrue(!java.util.Arrays.equals(libraryImage("a handwritten zero", "blurry", 1000, STEPS).pixels(),
                libraryImage("a handwritten zero", null, 1070, STEPS).pixels()));
    }

    @Test
    void repartitioningGivesTheSameImages() {
        List<Row> rows = fortyRows().subList(0, 12);
        Map<Integer, Row> four = byId(generator().transform(frame(rows, REQUESTS, 4)));
        Map<Integer, Row> reshuffled = byId(generator().transform(frame(rows, REQUESTS, 1).repartition(5)));
        assertEquals(12, reshuffled.size());
        for (Row r : rows) {
            int id = r.getInt(0);
            assertArrayEquals((byte[]) four.get(id).getAs("image"), (byte[]) reshuffled.get(id).getAs("image"), "row " + id);
        }
    }

    @Test
    void badRowsGetTheirErrorAndTheOthersSucceed() throws Exception {
        StructType schema = REQUESTS.add("height", DataTypes.IntegerType, true).add("init_image", DataTypes.BinaryType, true)
                .add("steps", DataTypes.IntegerType, true);
        String longPrompt = "a handwritten seven " + "very ".repeat(90);
        List<Row> rows = List.of(
                RowFactory.create(0, "a handwritten two", null, 5L, null, null, null),
                RowFactory.create(1, "a handwritten three", null, 6L, 36, null, null),           // not a multiple of 8
                RowFactory.create(2, "a handwritten four", null, 7L, null, "not a png".getBytes(StandardCharsets.UTF_8), null),
                RowFactory.create(3, longPrompt, null, 8L, null, null, null),                   // over 77 tokens
                RowFactory.create(4, null, null, 9L, null, null, null),                         // no prompt
                RowFactory.create(5, "a handwritten five", null, 10L, null, null, 0),           // steps 0
                RowFactory.create(6, "a handwritten six", null, 11L, null, null, 2));           // its own steps
        Map<Integer, Row> out = byId(generator().transform(frame(rows, schema, 2)));
        assertEquals(7, out.size());
        assertSameImage(libraryImage("a handwritten two", null, 5, STEPS), out.get(0).getAs("image"), "row 0");
        assertSameImage(libraryImage("a handwritten six", null, 11, 2), out.get(6).getAs("image"), "row 6");
        assertNull(out.get(0).getAs("error"));
        assertNull(out.get(6).getAs("error"));
        assertError(out.get(1), "height and width have to be divisible by 8, got 36x0");
        assertError(out.get(2), "init_image");
        // BOS + "a", "handwritten", "seven" (single CLIP tokens, as every demo caption word) + 90 x "very" + EOS = 95
        assertError(out.get(3), "prompt is 95 tokens (with BOS/EOS); the model takes at most 77");
        assertError(out.get(4), "prompt is null");
        assertError(out.get(5), "steps must be >= 1, got 0");
        assertEquals(9L, (long) out.get(4).getAs("seed"));
    }

    static void assertError(Row r, String part) {
        Object id = r.schema().getFieldIndex("id").isDefined() ? r.getAs("id") : r.getAs("row");
        assertNull(r.getAs("image"), "row " + id + " has an image");
        String e = r.getAs("error");
        assertNotNull(e, "row " + id + " has no error");
        assertTrue(e.contains(part), "row " + id + " error: " + e);
    }

    @Test
    void generateImagesJobWritesParquetAndPngs(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path csv = tmp.resolve("prompts.csv");
        java.nio.file.Files.writeString(csv, String.join("\n",
                "prompt,negative_prompt,seed,height",
                "a handwritten one,,31,",
                "a handwritten eight,blurry,32,",
                "a handwritten nine,,33,12",
                "the number 4,,34,32", ""));
        Path out = tmp.resolve("out.parquet");
        Path pngs = tmp.resolve("png");
        GenerateImages.Summary s = GenerateImages.run(SparkTesting.spark(), GenerateImages.Args.parse("--model", model.toString(),
                "--prompts", csv.toString(), "--out", out.toString(), "--png-dir", pngs.toString(), "--sampler", "ddim",
                "--steps", String.valueOf(STEPS), "--guidance", String.valueOf(GUIDANCE), "--partitions", "3"));
        assertEquals(new GenerateImages.Summary(4, 1, 3), s);
        Map<Long, Row> rows = new HashMap<>();
        for (Row r : SparkTesting.spark().read().parquet(out.toString()).collectAsList()) rows.put(r.getAs("row"), r);
        assertError(rows.get(2L), "height and width have to be divisible by 8, got 12x0");
        String[][] good = {{"0", "a handwritten one", null, "31"}, {"1", "a handwritten eight", "blurry", "32"}, {"3", "the number 4", null, "34"}};
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(pngs)) {
            assertEquals(List.of("0_31.png", "1_32.png", "3_34.png"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        for (String[] g : good) {
            Image want = libraryImage(g[1], g[2], Long.parseLong(g[3]), STEPS);
            byte[] png = java.nio.file.Files.readAllBytes(pngs.resolve(g[0] + "_" + g[3] + ".png"));
            assertSameImage(want, png, "PNG of row " + g[0]);
            assertArrayEquals(png, (byte[]) rows.get(Long.parseLong(g[0])).getAs("image"), "row " + g[0] + ": Parquet and PNG differ");
        }
    }

    @Test
    void rowsWithoutASeedGetOneFromTheirOwnFields() throws Exception {
        List<Row> rows = List.of(RowFactory.create(0, "a handwritten three", null, null),
                RowFactory.create(1, "a handwritten five", null, null),
                RowFactory.create(2, "a handwritten three", null, null));
        Map<Integer, Row> out = byId(generator().transform(frame(rows, REQUESTS, 3)));
        long s0 = out.get(0).getAs("seed");
        assertEquals(s0, (long) out.get(2).getAs("seed"), "equal rows in different partitions, equal seeds");
        assertTrue(s0 != (long) out.get(1).getAs("seed"));
        assertSameImage(libraryImage("a handwritten three", null, s0, STEPS), out.get(2).getAs("image"), "row 2");
        assertArrayEquals((byte[]) out.get(0).getAs("image"), (byte[]) out.get(2).getAs("image"));
    }

    @Test
    void theModelIsLoadedOncePerJvm() {
        Unet4jGenerator g = generator();
        ModelKey key = g.settings().key();
        byId(g.transform(frame(fortyRows().subList(0, 8), REQUESTS, 4)));
        byId(g.transform(frame(fortyRows().subList(8, 12), REQUESTS, 3)));
        // 7 tasks on two task threads, in every test of this class: one load, and no task holds it now
        assertEquals(1, ExecutorModels.loads(key));
        assertEquals(0, ExecutorModels.references(key));
    }

    @Test
    void aModelThatFailsToLoadFailsTheTaskWithTheLoadersMessage() {
        Path missing = model.resolveSibling("no-such-model");
        Dataset<Row> out = new Unet4jGenerator().setModelPath(missing.toString()).transform(frame(fortyRows().subList(0, 2), REQUESTS, 1));
        SparkException e = assertThrows(SparkException.class, out::collectAsList);
        assertTrue(e.getMessage().contains("unet4j: cannot load model " + missing + ": model folder not found: " + missing.toAbsolutePath()),
                e.getMessage());
    }

    @Test
    void badParamsAndColumnsAreRefusedOnTheDriver() {
        IllegalArgumentException sampler = assertThrows(IllegalArgumentException.class,
                () -> generator().setSampler("nope").setSteps(0).transform(frame(fortyRows().subList(0, 1), REQUESTS, 1)));
        assertTrue(sampler.getMessage().contains("sampler 'nope' is unknown; valid: ddim"), sampler.getMessage());
        assertTrue(sampler.getMessage().contains("steps must be >= 1, got 0"), sampler.getMessage());
        StructType intPrompt = new StructType().add("prompt", DataTypes.IntegerType).add("seed", DataTypes.StringType);
        IllegalArgumentException columns = assertThrows(IllegalArgumentException.class, () -> generator().transformSchema(intPrompt));
        assertEquals("Unet4jGenerator input: prompt must be a string column, it is int; seed must be an integer column, it is string",
                columns.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> generator().transformSchema(new StructType().add("seed", DataTypes.LongType)));
        assertTrue(none.getMessage().contains("needs a prompt or a class_label column"), none.getMessage());
    }
}
