package dev.unet4j.spark;

import dev.unet4j.core.testing.Fixtures;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The executor's compute pool under Spark ({@code local[2]}, {@code spark.task.cpus} 1): one pool of two threads for
 * the JVM, shared by its models and kept across jobs; every generation runs on its threads (never on Spark's task
 * threads) with images equal to the library's; a task killed mid-partition cancels its generation and gives its model
 * back, and the pool works on afterwards.
 */
class ExecutorComputePoolTest {

    @BeforeAll
    static void load() throws Exception {
        Unet4jGeneratorTest.load();
    }

    @AfterAll
    static void close() {
        Unet4jGeneratorTest.close();
    }

    @Test
    void generationsRunOnOnePoolPerJvmAndEqualTheLibrary() throws Exception {
        Unet4jGenerator g = Unet4jGeneratorTest.generator();
        ModelKey key = g.settings().key();
        List<Row> rows = Unet4jGeneratorTest.fortyRows().subList(0, 12);
        Map<Integer, Row> out = Unet4jGeneratorTest.byId(g.transform(Unet4jGeneratorTest.frame(rows, Unet4jGeneratorTest.REQUESTS, 4)));
        ComputePool pool = ExecutorModels.computePool(key).orElseThrow();
        int created = ComputePool.created();
        Unet4jGeneratorTest.byId(g.transform(Unet4jGeneratorTest.frame(rows.subList(0, 6), Unet4jGeneratorTest.REQUESTS, 3)));
        // a second model of the JVM (class-conditional) computes on the same pool
        Unet4jGenerator digits = new Unet4jGenerator().setModelPath(Fixtures.model("digits-16").toString()).setSteps(2).setGuidance(1.5);
        StructType classes = new StructType().add("id", DataTypes.IntegerType, false).add("class_label", DataTypes.IntegerType, false)
                .add("seed", DataTypes.LongType, false);
        Map<Integer, Row> digitRows = Unet4jGeneratorTest.byId(digits.transform(Unet4jGeneratorTest.frame(
                List.of(RowFactory.create(0, 3, 1L), RowFactory.create(1, 7, 2L)), classes, 2)));
        assertNull(digitRows.get(0).getAs("error"));
        assertSame(pool, ExecutorModels.computePool(key).orElseThrow(), "the pool outlives the jobs");
        assertSame(pool, ExecutorModels.computePool(digits.settings().key()).orElseThrow(), "one pool for the JVM's models");
        assertEquals(created, ComputePool.created(), "no pool created by later jobs");
        assertEquals(2, pool.size(), "local[2] / spark.task.cpus 1");

        Set<String> computing = ExecutorModels.computingThreads(key);
        assertFalse(computing.isEmpty());
        assertTrue(computing.size() <= 2, "at most one thread per slot computed: " + computing);
        assertTrue(pool.threads().values().containsAll(computing), "generations ran on the pool's threads " + pool.threads() + ": " + computing);
        for (String t : computing) assertFalse(t.contains("task launch worker"), "a Spark task thread computed: " + t);

        String threads = "\"intra_op_threads\":1,\"threads_from\":\""
                + (Runtime.version().feature() >= 22 ? "spark.task.cpus" : "OMP_NUM_THREADS") + "\"";
        for (Row want : rows) {
            Row got = out.get(want.getInt(0));
            assertNull(got.getAs("error"));
            assertTrue(((String) got.getAs("settings")).contains(threads), (String) got.getAs("settings"));
            Unet4jGeneratorTest.assertSameImage(Unet4jGeneratorTest.libraryImage(want.getString(1), want.getString(2), want.getLong(3),
                    Unet4jGeneratorTest.STEPS), got.getAs("image"), "row " + want.getInt(0));
        }
    }

    @Test
    void aTaskKilledMidPartitionCancelsItsGeneration() throws Exception {
        Unet4jGenerator g = Unet4jGeneratorTest.generator().setBatchSize(1);
        ModelKey key = g.settings().key();
        StructType schema = Unet4jGeneratorTest.REQUESTS.add("steps", DataTypes.IntegerType, false);
        // one partition of 4 rows of 500 steps (DDIM's most here is 999): seconds of work each unless the kill stops it
        List<Row> slow = List.of(RowFactory.create(0, "a handwritten one", null, 1L, 500), RowFactory.create(1, "a handwritten two", null, 2L, 500),
                RowFactory.create(2, "a handwritten three", null, 3L, 500), RowFactory.create(3, "a handwritten four", null, 4L, 500));
        Dataset<Row> out = g.transform(Unet4jGeneratorTest.frame(slow, schema, 1));
        SparkContext sc = SparkTesting.spark().sparkContext();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread job = new Thread(() -> {
            sc.setJobGroup("unet4j-kill-test", "a job to cancel", false); // Spark's default: kill without interrupting
            try {
                out.collectAsList();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "kill-test-job");
        job.start();
        awaitTrue(() -> ExecutorModels.computePool(key).map(p -> p.running() > 0).orElse(false), "a generation running");
        ComputePool pool = ExecutorModels.computePool(key).orElseThrow();
        long cancelledBefore = pool.cancelled();
        sc.cancelJobGroup("unet4j-kill-test");
        job.join(120_000);
        assertFalse(job.isAlive());
        assertNotNull(failure.get(), "the job was cancelled");
        assertTrue(String.valueOf(failure.get().getMessage()).contains("cancelled"), failure.get().toString());
        awaitTrue(() -> pool.cancelled() > cancelledBefore, "the killed task's generation cancelled");
        awaitTrue(() -> ExecutorModels.references(key) == 0, "the killed task gave its model back");
        assertEquals(0, pool.running(), "nothing left computing");
        assertEquals(cancelledBefore + 1, pool.cancelled());

        // the pool and the model work on
        List<Row> rows = Unet4jGeneratorTest.fortyRows().subList(20, 22);
        Map<Integer, Row> again = Unet4jGeneratorTest.byId(Unet4jGeneratorTest.generator().transform(
                Unet4jGeneratorTest.frame(rows, Unet4jGeneratorTest.REQUESTS, 1)));
        for (Row want : rows) {
            Unet4jGeneratorTest.assertSameImage(Unet4jGeneratorTest.libraryImage(want.getString(1), want.getString(2), want.getLong(3),
                    Unet4jGeneratorTest.STEPS), again.get(want.getInt(0)).getAs("image"), "row " + want.getInt(0) + " after the kill");
        }
    }

    /** Waits up to two minutes (a busy build machine) for {@code condition}. */
    static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + 120_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }
}
