package dev.unet4j.cli;

import java.io.PrintWriter;
import java.io.Writer;
import java.net.URI;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code unet4j serve} run in-process on a thread; closing interrupts it, which stops the server. */
final class Served implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+/)");

    static {
        System.setProperty("unet4j.cache", java.nio.file.Path.of("target", "unet4j-cache").toAbsolutePath().toString());
    }

    final URI uri;
    private final Thread thread;
    private final StringBuffer out = new StringBuffer();
    private final StringBuffer err = new StringBuffer();
    private volatile int code = -1;

    Served(String... args) throws InterruptedException {
        String[] all = new String[args.length + 3];
        all[0] = "serve";
        all[1] = "--port";
        all[2] = "0";
        System.arraycopy(args, 0, all, 3, args.length);
        thread = new Thread(() -> code = Main.run(new PrintWriter(writer(out), true), new PrintWriter(writer(err), true), all), "served");
        thread.start();
        long end = System.nanoTime() + 60_000_000_000L;
        Matcher m;
        while (!(m = LISTENING.matcher(out)).find()) {
            if (!thread.isAlive()) throw new AssertionError("serve " + Arrays.toString(args) + " exited " + code + ": " + err);
            if (System.nanoTime() > end) throw new AssertionError("serve did not start: " + out + err);
            Thread.sleep(20);
        }
        uri = URI.create(m.group(1));
    }

    private static Writer writer(StringBuffer b) {
        return new Writer() {
            @Override
            public void write(char[] c, int off, int len) {
                b.append(c, off, len);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
    }

    String out() {
        return out.toString();
    }

    @Override
    public void close() throws InterruptedException {
        thread.interrupt();
        thread.join(60_000);
        if (thread.isAlive()) throw new AssertionError("serve did not stop");
        if (code != 0) throw new AssertionError("serve exited " + code + ": " + err);
    }
}
