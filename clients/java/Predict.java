// Classify images with the CIFAR-10 CNN exported by `ker6_predict.py --export`, from Java.
//
// OpenCV's Java bindings (org.opencv.dnn) read the ONNX file and run it; no Python,
// TensorFlow or Keras is needed. Each image is prepared exactly as ker6_predict.py prepares it:
//   read (OpenCV gives BGR) -> RGB -> largest centred square -> 32x32 (INTER_AREA to
//   shrink, INTER_CUBIC to enlarge) -> float32 / 255 -> an NHWC blob (1, 32, 32, 3).
//
//   java -Djava.library.path=/usr/lib/jni -cp /usr/share/java/opencv.jar:build Predict \
//       MODEL.onnx IMAGE... [--probabilities] [--repeat N] [--scale S] [--bgr]
//
// The options are those of the C++ program (clients/cpp/predict.cpp).
// Bad input gives one line "error: ..." on stderr and exit code 2.

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.opencv.core.Core;
import org.opencv.core.CvException;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Size;
import org.opencv.dnn.Dnn;
import org.opencv.dnn.Net;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

public class Predict {
    static final int SIDE = 32; // CIFAR-10 images are 32x32x3
    static final int TOP_K = 3;
    static final String[] CLASS_NAMES = {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
    };

    /** A problem with the input that the user can fix: one line, exit code 2. */
    static class UsageError extends Exception {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }

    /** OpenCV's messages can span lines; an error here is one line. */
    static String firstLine(String text) {
        String line = text == null ? "" : text.split("\n", 2)[0];
        return line.isEmpty() ? "unknown error" : line;
    }

    /**
     * True unless the bytes are a JPEG that ends before its end-of-image marker (FF D9). OpenCV
     * decodes such a file without complaint, grey where the data stops; ker6_predict.py (Pillow)
     * refuses it. Segments are skipped by their length, so a thumbnail inside EXIF data does
     * not count; in the compressed data FF 00 is a stuffed FF byte and FF FF a fill byte.
     */
    static boolean jpegIsComplete(byte[] d) {
        int n = d.length, i = 2;
        if (n < 4 || (d[0] & 0xFF) != 0xFF || (d[1] & 0xFF) != 0xD8) return true; // not a JPEG
        while (true) {
            while (i + 1 < n && !((d[i] & 0xFF) == 0xFF && d[i + 1] != 0 && (d[i + 1] & 0xFF) != 0xFF)) i++;
            if (i + 1 >= n) return false; // no end-of-image marker
            int marker = d[i + 1] & 0xFF;
            i += 2;
            if (marker == 0xD9) return true; // end of image
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue; // no length
            if (i + 2 > n) return false;
            i += (d[i] & 0xFF) << 8 | (d[i + 1] & 0xFF); // the length counts its own 2 bytes
            if (i > n) return false;
        }
    }

    /**
     * True unless the bytes are a PNG that ends before its IEND chunk. libpng would print its
     * own line on stderr for such a file; ker6_predict.py refuses it too. Each chunk is its
     * length (4 bytes), its type (4), its data and a CRC (4).
     */
    static boolean pngIsComplete(byte[] d) {
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        if (d.length < 8 || !Arrays.equals(Arrays.copyOf(d, 8), signature)) return true;
        for (long i = 8; i + 8 <= d.length;) {
            int at = (int) i;
            long length = ((d[at] & 0xFFL) << 24) | (d[at + 1] & 0xFF) << 16 | (d[at + 2] & 0xFF) << 8
                    | (d[at + 3] & 0xFF);
            boolean end = d[at + 4] == 'I' && d[at + 5] == 'E' && d[at + 6] == 'N' && d[at + 7] == 'D';
            i += 12 + length;
            if (i > d.length) return false;
            if (end) return true;
        }
        return false;
    }

    /**
     * The image as the network saw it in training: an NHWC float32 blob (1, 32, 32, 3). The same
     * checks as ker6_predict.py makes when it reads a file.
     */
    static Mat prepare(String path, double scale, boolean swapToRgb) throws UsageError {
        Path file = Paths.get(path);
        if (!Files.exists(file)) throw new UsageError("no such image file: " + path);
        if (Files.isDirectory(file)) throw new UsageError(path + " is a folder, not an image file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UsageError("cannot read " + path);
        }
        if (bytes.length == 0) throw new UsageError(path + " is empty (0 bytes)");
        if (!jpegIsComplete(bytes)) // before imread, whose JPEG reader would warn on stderr
            throw new UsageError(path + " is a broken or truncated JPEG (it ends before its last marker)");
        if (!pngIsComplete(bytes)) // the same for PNG, whose reader would print an error
            throw new UsageError(path + " is a broken or truncated PNG (it ends before its last chunk)");
        Mat image = Imgcodecs.imread(path, Imgcodecs.IMREAD_COLOR); // 8-bit BGR
        if (image.empty()) throw new UsageError(path + " is not an image OpenCV can read");
        if (swapToRgb) Imgproc.cvtColor(image, image, Imgproc.COLOR_BGR2RGB); // Keras wants RGB
        int side = Math.min(image.rows(), image.cols());
        Mat square = image.submat(new Rect((image.cols() - side) / 2, (image.rows() - side) / 2, side, side));
        Mat small = new Mat();
        int interpolation = side >= SIDE ? Imgproc.INTER_AREA : Imgproc.INTER_CUBIC;
        Imgproc.resize(square, small, new Size(SIDE, SIDE), 0, 0, interpolation);
        Mat pixels = new Mat();
        small.convertTo(pixels, CvType.CV_32F, scale); // (32, 32) of 3 floats, 0..1
        return pixels.reshape(1, new int[] {1, SIDE, SIDE, 3}).clone(); // (batch, h, w, channels)
    }

    /** How many characters a name shows: its code points, as Python's len() counts them. */
    static int characters(String text) {
        return text.codePointCount(0, text.length());
    }

    /**
     * The name in a column of `width` characters, as ker6_predict.py prints it: padded with
     * spaces, or "..." and its last characters when it is longer.
     */
    static String inColumn(String name, int width) {
        int length = characters(name);
        if (length <= width) return name + " ".repeat(width - length);
        return "..." + name.substring(name.offsetByCodePoints(0, length - (width - 3)));
    }

    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** argv[i] as a positive number, for the option `option`. */
    static double number(String[] argv, int i, String option) throws UsageError {
        if (i >= argv.length) throw new UsageError(option + " needs a value");
        try {
            double value = Double.parseDouble(argv[i]);
            if (value > 0 && value < Integer.MAX_VALUE) return value;
        } catch (NumberFormatException e) {
            // the message below says what is wrong
        }
        throw new UsageError(option + " wants a positive number, not '" + argv[i] + "'");
    }

    static void run(String[] argv) throws UsageError {
        List<String> images = new ArrayList<>();
        String model = null;
        boolean showAll = false, swapToRgb = true;
        int repeat = 0;
        double scale = 1.0 / 255.0;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: Predict MODEL.onnx IMAGE... [--probabilities] "
                        + "[--repeat N] [--scale S] [--bgr]");
                return;
            } else if (a.equals("--probabilities")) {
                showAll = true;
            } else if (a.equals("--bgr")) {
                swapToRgb = false;
            } else if (a.equals("--repeat")) {
                repeat = (int) number(argv, ++i, a);
                if (repeat != number(argv, i, a)) throw new UsageError("--repeat wants a whole number");
            } else if (a.equals("--scale")) {
                scale = number(argv, ++i, a);
            } else if (a.startsWith("--")) {
                throw new UsageError("unknown option " + a);
            } else if (model == null) {
                model = a;
            } else {
                images.add(a);
            }
        }
        if (model == null || images.isEmpty())
            throw new UsageError("usage: Predict MODEL.onnx IMAGE... (see --help)");
        if (!Files.isRegularFile(Paths.get(model))) throw new UsageError("no such model file: " + model);

        Net net;
        try {
            net = Dnn.readNetFromONNX(model); // loaded once, used for every image
        } catch (CvException e) {
            throw new UsageError("OpenCV cannot read " + model + " as an ONNX model: "
                    + firstLine(e.getMessage()));
        }
        System.out.printf("model: %s (OpenCV %s, org.opencv.dnn)%n", model, Core.VERSION);

        int width = 0; // names padded to one column, as ker6_predict.py prints them
        for (String path : images) width = Math.max(width, characters(path));
        width = Math.min(width, 40);
        List<Double> forwardMs = new ArrayList<>();
        for (String path : images) {
            Mat blob = prepare(path, scale, swapToRgb);
            net.setInput(blob);
            Mat out = net.forward().clone(); // the first call also allocates the layers
            for (int r = 0; r < repeat; r++) {
                long start = System.nanoTime();
                net.setInput(blob);
                net.forward();
                forwardMs.add((System.nanoTime() - start) / 1e6);
            }
            if (out.total() != CLASS_NAMES.length)
                throw new UsageError(model + " gives " + out.total()
                        + " outputs per image, not 10 CIFAR-10 classes");
            float[] p = new float[CLASS_NAMES.length];
            out.reshape(1, 1).get(0, 0, p);
            Integer[] order = new Integer[p.length];
            for (int c = 0; c < p.length; c++) order[c] = c;
            Arrays.sort(order, (x, y) -> Float.compare(p[y], p[x])); // stable: ties keep order
            StringBuilder line = new StringBuilder("  " + inColumn(path, width) + " ");
            for (int k = 0; k < TOP_K; k++)
                line.append(String.format(Locale.ROOT, "  %11s %5.1f%%",
                        CLASS_NAMES[order[k]], 100.0 * p[order[k]]));
            System.out.println(line);
            if (showAll) {
                StringBuilder all = new StringBuilder("    probabilities:");
                for (float q : p) all.append(String.format(Locale.ROOT, " %.9g", q));
                System.out.println(all);
            }
        }
        if (!forwardMs.isEmpty())
            System.out.printf(Locale.ROOT, "forward pass: median %.4f ms per image over %d calls%n",
                    median(forwardMs), forwardMs.size());
    }

    public static void main(String[] argv) {
        try {
            System.loadLibrary(Core.NATIVE_LIBRARY_NAME); // libopencv_java460.so
        } catch (UnsatisfiedLinkError e) {
            System.err.println("error: cannot load OpenCV's Java library " + Core.NATIVE_LIBRARY_NAME
                    + " (run java with -Djava.library.path=/usr/lib/jni): " + firstLine(e.getMessage()));
            System.exit(2);
        }
        try {
            run(argv);
        } catch (UsageError e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        } catch (CvException e) {
            System.err.println("error: OpenCV: " + firstLine(e.getMessage()));
            System.exit(2);
        } catch (InvalidPathException e) { // a name the locale's character set can't spell
            System.err.println("error: Java cannot use the file name " + e.getInput()
                    + ": it reads names in the locale's character set, "
                    + System.getProperty("sun.jnu.encoding") + "; run it with a UTF-8 locale "
                    + "(LC_ALL=C.UTF-8)");
            System.exit(2);
        }
    }
}
