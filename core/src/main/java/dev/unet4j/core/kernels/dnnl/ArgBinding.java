package dev.unet4j.core.kernels.dnnl;

import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;

import static dev.unet4j.core.kernels.dnnl.Dnnl.at;
import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;

/**
 * The oneDNN memory objects and argument array one workspace uses to run one primitive, kept between calls: a call
 * only re-points the memories whose buffer moved ({@code dnnl_memory_set_data_handle}). Creating and destroying
 * them per call cost ~4 us per primitive, a fifth of a small UNet's forward. Owned by a {@link DnnlWorkspace}
 * (one thread); closed with it.
 */
final class ArgBinding implements AutoCloseable {
    private final int[] argIds;
    private final dnnl_memory[] memories;
    private final long[] addresses;
    private final dnnl_exec_arg_t args;

    ArgBinding(Primitive p, int[] argIds) {
        this.argIds = argIds;
        this.memories = new dnnl_memory[argIds.length];
        this.addresses = new long[argIds.length];
        this.args = new dnnl_exec_arg_t(argIds.length);
        try {
            for (int i = 0; i < argIds.length; i++) {
                dnnl_memory m = new dnnl_memory();
                check(dnnl_memory_create(m, p.mdFor(argIds[i]), engine(), at(0)), "memory_create(arg " + argIds[i] + ") for " + p);
                memories[i] = m;
                args.position(i).arg(argIds[i]).memory(m);
            }
            args.position(0);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * True when this binding was made for exactly the argument ids of these (id, address) pairs, in this order, plus
     * the scratchpad last when {@code scratch} (checked without allocating: this runs for every primitive call).
     */
    boolean matches(long[] argAddressPairs, boolean scratch) {
        int user = argAddressPairs.length / 2;
        if (argIds.length != user + (scratch ? 1 : 0)) return false;
        for (int i = 0; i < user; i++) if (argIds[i] != (int) argAddressPairs[2 * i]) return false;
        return !scratch || argIds[user] == DNNL_ARG_SCRATCHPAD;
    }

    void point(int i, long address) {
        if (addresses[i] != address) {
            check(dnnl_memory_set_data_handle(memories[i], at(address)), "memory_set_data_handle(arg " + argIds[i] + ")");
            addresses[i] = address;
        }
    }

    int count() {
        return argIds.length;
    }

    dnnl_exec_arg_t args() {
        return args;
    }

    @Override
    public void close() {
        for (dnnl_memory m : memories) {
            if (m != null) dnnl_memory_destroy(m);
        }
        args.close();
    }
}
