package dev.unet4j.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The executor side of {@link Unet4jGenerator}: takes the JVM's shared model ({@link ExecutorModels}) for the task,
 * reads the partition's rows in chunks of {@code batchSize}, generates each chunk (rows of equal settings in one
 * batch where the model can) on the executor's {@link ComputePool} while the task thread waits, and emits the input
 * columns plus the output columns, in input order. Lazy: rows are generated as Spark pulls them, so a partition is
 * never held in memory whole. A killed task cancels the chunk being generated.
 */
final class PartitionGenerator implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final GeneratorSettings settings;
    private final StructType input;

    PartitionGenerator(GeneratorSettings settings, StructType input) {
        this.settings = settings;
        this.input = input;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) throws Exception {
        if (!rows.hasNext()) return rows; // empty partition: no model load
        TaskContext task = TaskContext.get();
        ExecutorThreads threads = ExecutorThreads.forTask(task);
        ExecutorModels.Lease lease;
        try {
            lease = ExecutorModels.acquire(settings.key(), threads);
        } catch (Exception e) {
            throw new IllegalStateException("unet4j: cannot load model " + settings.modelPath() + ": " + RowResult.describe(e), e);
        }
        if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> lease.close());
        BooleanSupplier killed = () -> task != null && task.isInterrupted();
        return new Iterator<>() {
            private Iterator<Row> chunk = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                if (chunk.hasNext()) return true;
                if (!rows.hasNext()) {
                    lease.close();
                    return false;
                }
                // read here: Spark's input iterator belongs to the task thread; generate on the compute pool
                List<Row> in = new ArrayList<>(settings.batchSize());
                while (rows.hasNext() && in.size() < settings.batchSize()) in.add(rows.next());
                try {
                    chunk = lease.compute(() -> generate(lease.model(), in), killed).iterator();
                } catch (CancellationException e) {
                    if (task != null) task.killTaskIfInterrupted(); // Spark's own TaskKilledException, with the reason
                    throw e;
                }
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return chunk.next();
            }
        };
    }

    private List<Row> generate(ImageModel model, List<Row> in) {
        RowResult[] results = new RowResult[in.size()];
        RowRequest[] requests = new RowRequest[in.size()];
        Map<Object, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < in.size(); i++) {
            try {
                requests[i] = request(in.get(i));
            } catch (RuntimeException e) {
                results[i] = RowResult.failed(seedOrZero(in.get(i)), null, 0, e);
                continue;
            }
            Object key = model.batchKey(requests[i]);
            groups.computeIfAbsent(key == null ? new Object() : key, k -> new ArrayList<>()).add(i);
        }
        for (List<Integer> group : groups.values()) {
            List<RowRequest> batch = group.stream().map(i -> requests[i]).toList();
            List<RowResult> r = model.generate(batch, settings);
            for (int k = 0; k < group.size(); k++) results[group.get(k)] = r.get(k);
        }
        List<Row> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) out.add(output(in.get(i), results[i]));
        return out;
    }

    /** The row's request: its own settings where it has them, else the job's. */
    private RowRequest request(Row row) {
        String prompt = string(row, Unet4jGenerator.PROMPT);
        String negative = string(row, Unet4jGenerator.NEGATIVE_PROMPT);
        Number label = number(row, Unet4jGenerator.CLASS_LABEL);
        Integer classLabel = label == null ? null : Math.toIntExact(label.longValue());
        Number seed = number(row, Unet4jGenerator.SEED);
        long s = seed != null ? seed.longValue() : RowSeeds.derive(prompt, negative, classLabel);
        Number steps = number(row, Unet4jGenerator.STEPS);
        Number guidance = number(row, Unet4jGenerator.GUIDANCE);
        Number width = number(row, Unet4jGenerator.WIDTH);
        Number height = number(row, Unet4jGenerator.HEIGHT);
        byte[] init = has(row, Unet4jGenerator.INIT_IMAGE) ? (byte[]) row.get(row.fieldIndex(Unet4jGenerator.INIT_IMAGE)) : null;
        return new RowRequest(prompt, negative, s, classLabel,
                steps != null ? Math.toIntExact(steps.longValue()) : settings.steps(),
                guidance != null ? guidance.doubleValue() : settings.guidance(),
                height != null ? Math.toIntExact(height.longValue()) : 0,
                width != null ? Math.toIntExact(width.longValue()) : 0, init);
    }

    private long seedOrZero(Row row) {
        Number seed = number(row, Unet4jGenerator.SEED);
        return seed == null ? 0 : seed.longValue();
    }

    private Row output(Row in, RowResult r) {
        List<Object> values = new ArrayList<>();
        for (StructField f : input.fields()) {
            if (!Unet4jGenerator.OUTPUT_COLUMNS.contains(f.name())) values.add(in.get(in.fieldIndex(f.name())));
        }
        values.add(r.png());
        values.add(r.seed());
        values.add(settings.modelPath());
        values.add(r.settings());
        values.add(r.millis());
        values.add(r.error());
        return RowFactory.create(values.toArray());
    }

    private boolean has(Row row, String column) {
        return input.getFieldIndex(column).isDefined() && !row.isNullAt(row.fieldIndex(column));
    }

    private String string(Row row, String column) {
        return has(row, column) ? row.getString(row.fieldIndex(column)) : null;
    }

    private Number number(Row row, String column) {
        return has(row, column) ? (Number) row.get(row.fieldIndex(column)) : null;
    }
}
