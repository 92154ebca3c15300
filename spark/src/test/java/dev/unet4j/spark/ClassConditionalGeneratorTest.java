package dev.unet4j.spark;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Class-conditional rows ({@code class_label}) with the bundled {@code digits-16} UNet (the CLI's {@code demo-digits}):
 * rows of equal settings run as one UNet batch with one generator per row, and every image must equal what
 * {@code unet4j generate --model demo-digits --class-label K --seed S} computes: the samplers' {@link Pipeline} with
 * one row, noise from {@code manual_seed(S)}, guidance 1.5 against the null class 10, run here outside Spark.
 */
class ClassConditionalGeneratorTest {
    static final int STEPS = 3;

    @Test
    void batchedClassRowsEqualSingleLibraryRuns() throws Exception {
        Path dir = Fixtures.model("digits-16");
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("class_label", DataTypes.IntegerType, true).add("seed", DataTypes.LongType, true);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) rows.add(RowFactory.create(i, i == 4 ? 11 : i, 20L + i)); // row 4: no such class
        Unet4jGenerator g = new Unet4jGenerator().setModelPath(dir.toString()).setSteps(STEPS).setGuidance(1.5).setBatchSize(8);
        long batchedBefore = ClassConditionalModel.BATCHED_ROWS.get();
        Map<Integer, Row> out = Unet4jGeneratorTest.byId(g.transform(Unet4jGeneratorTest.frame(rows, schema, 2)));
        assertEquals(10, out.size());
        // partitions of rows 0-4 and 5-9: the 4 and 5 valid rows each ran as one batch
        assertEquals(9, ClassConditionalModel.BATCHED_ROWS.get() - batchedBefore);
        Unet4jGeneratorTest.assertError(out.get(4), "class_label 11 is out of range 0..10");

        try (DnnlKernels kernels = new DnnlKernels(DnnlKernels.Options.exact());
             UNetModel unet = UNetModel.load(dir, LoadOptions.of(kernels))) {
            Pipeline p = Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(SchedulerConfig.load(dir.resolve("scheduler_config.json")))));
            for (Row r : rows) {
                int id = r.getInt(0);
                if (id == 4) continue;
                Row got = out.get(id);
                assertNull(got.getAs("error"), "row " + id);
                assertEquals(r.getLong(2), (long) got.getAs("seed"));
                Latents x = p.generate(Generation.of(STEPS).size(16, 16).noise(NoiseSource.seeded(r.getLong(2)), 1)
                        .classes(r.getInt(1)).guidance(1.5, 10)).latents(); // [1, 1, 16, 16]
                Image want = Image.batchFromSignedUnit(x.data(), x.shape()).get(0);
                Unet4jGeneratorTest.assertSameImage(want, got.getAs("image"), "row " + id + " (class " + r.getInt(1) + ")");
            }
        }
    }
}
