package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Composition of {@link NodeInterceptor}s, since a {@link UNetSession} holds one. In {@code chain(a, b)}, {@code a}
 * sees every node first and its {@code proceed()} runs {@code b}, whose {@code proceed()} runs the node: {@code a}
 * observes what {@code b} made of the node (a guard placed outside a cache checks the outputs the cache serves).
 * Skip pushes and pops go through {@code b} first, then {@code a}.
 *
 * <p>Ownership follows {@link NodeInterceptor}: a tensor an inner interceptor returned and the outer one replaced is
 * closed here (the graph only knows the node's own output).
 *
 * <p>The one home of interceptor chaining: a feature cache chains the parts of a composed policy with it too.
 */
public final class Interceptors {
    private Interceptors() {
    }

    /** {@code outer} wrapping {@code inner}; a null element is left out. */
    public static NodeInterceptor chain(NodeInterceptor... interceptors) {
        List<NodeInterceptor> list = new ArrayList<>();
        for (NodeInterceptor i : interceptors) if (i != null) list.add(i);
        if (list.isEmpty()) return new NodeInterceptor() { };
        if (list.size() == 1) return list.get(0);
        return new Chain(List.copyOf(list));
    }

    /** Wraps the interceptor {@code session} has now (a cache session's, for example) inside {@code outer}. */
    public static void wrap(UNetSession session, NodeInterceptor outer) {
        session.setInterceptor(chain(Objects.requireNonNull(outer, "outer"), session.interceptor()));
    }

    private record Chain(List<NodeInterceptor> links) implements NodeInterceptor {

        @Override
        public Tensor intercept(NodeCall call) {
            return invoke(0, call, new Tensor[1]);
        }

        /** Runs link {@code i} on {@code base}; {@code real[0]} receives the node's own output once it has run. */
        private Tensor invoke(int i, NodeCall base, Tensor[] real) {
            if (i == links.size() - 1) {
                Tensor out = links.get(i).intercept(new Link(base, null, real));
                return out;
            }
            Link next = new Link(base, b -> invoke(i + 1, b, real), real);
            Tensor out = links.get(i).intercept(next);
            Tensor inner = next.result;
            // the inner result was replaced and is neither the node's output (the graph closes that) nor its input
            if (inner != null && out != inner && inner != real[0] && inner != base.input()) inner.close();
            return out;
        }

        /** Served if some link serves it: the node does not run, so no link reads its real input. */
        @Override
        public boolean serves(String path) {
            for (NodeInterceptor l : links) if (l.serves(path)) return true;
            return false;
        }

        @Override
        public Tensor onSkipPush(SkipEvent event) {
            return skip(event, true);
        }

        @Override
        public Tensor onSkipPop(SkipEvent event) {
            return skip(event, false);
        }

        private Tensor skip(SkipEvent event, boolean push) {
            Tensor t = event.tensor();
            for (int i = links.size() - 1; i >= 0; i--) {
                SkipEvent e = new SkipEvent(event.index(), event.callIndex(), event.node(), t);
                Tensor r = push ? links.get(i).onSkipPush(e) : links.get(i).onSkipPop(e);
                if (r != t && t != event.tensor()) t.close(); // an earlier link's replacement, replaced again
                t = r;
            }
            return t;
        }
    }

    /** The call one link sees: its proceed() runs the next link (or the node itself for the last link). */
    private static final class Link extends ForwardingNodeCall {
        private final java.util.function.Function<NodeCall, Tensor> next;
        private final Tensor[] real;
        private boolean proceeded;
        Tensor result;

        Link(NodeCall base, java.util.function.Function<NodeCall, Tensor> next, Tensor[] real) {
            super(base);
            this.next = next;
            this.real = real;
        }

        @Override
        public Tensor proceed() {
            if (proceeded) throw new IllegalStateException("proceed() called twice at " + base.path());
            proceeded = true;
            if (next == null) {
                result = base.proceed();
                real[0] = result;
            } else {
                result = next.apply(base);
            }
            return result;
        }

        /** The links after this one see the node with {@code input} as its input ({@link NodeCall#proceedWith}). */
        @Override
        public Tensor proceedWith(Tensor input) {
            if (proceeded) throw new IllegalStateException("proceed() called twice at " + base.path());
            proceeded = true;
            if (next == null) {
                result = base.proceedWith(input);
                real[0] = result;
            } else {
                result = next.apply(withInput(base, input));
            }
            return result;
        }
    }
}
