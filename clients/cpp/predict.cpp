// Classify images with the CIFAR-10 CNN exported by `ker6_predict.py --export`, from C++.
//
// OpenCV's dnn module reads the ONNX file and runs it; no Python, TensorFlow or Keras is
// needed. Each image is prepared exactly as ker6_predict.py prepares it:
//   read (OpenCV gives BGR) -> RGB -> largest centred square -> 32x32 (INTER_AREA to
//   shrink, INTER_CUBIC to enlarge) -> float32 / 255 -> an NHWC blob (1, 32, 32, 3).
//
//   predict MODEL.onnx IMAGE... [--probabilities] [--repeat N] [--scale S] [--bgr]
//
// It prints the top 3 classes of each image. --probabilities adds all 10 probabilities
// (9 significant digits, for comparing with Keras), --repeat N runs the forward pass N times
// per image and prints the median time of one forward pass. --bgr skips the BGR -> RGB
// swap: the wrong preprocessing, there to show that it changes the answer.
// Bad input gives one line "error: ..." on stderr and exit code 2.

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const int kSide = 32;  // CIFAR-10 images are 32x32x3
const int kTopK = 3;
const std::vector<std::string> kClassNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// OpenCV's messages can span lines; an error here is one line.
std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? "unknown error" : line;
}

// True unless the bytes are a JPEG that ends before its end-of-image marker (FF D9). OpenCV
// decodes such a file without complaint, grey where the data stops; ker6_predict.py (Pillow)
// refuses it. Segments are skipped by their length, so a thumbnail inside EXIF data does not
// count; in the compressed data FF 00 is a stuffed FF byte and FF FF a fill byte.
bool jpeg_is_complete(const std::vector<unsigned char>& d) {
    size_t n = d.size(), i = 2;
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return true;  // not a JPEG
    while (true) {
        while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0x00 && d[i + 1] != 0xFF)) ++i;
        if (i + 1 >= n) return false;  // no end-of-image marker
        unsigned char marker = d[i + 1];
        i += 2;
        if (marker == 0xD9) return true;                                     // end of image
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
        if (i + 2 > n) return false;
        i += static_cast<size_t>(d[i]) << 8 | d[i + 1];  // the length counts its own 2 bytes
        if (i > n) return false;
    }
}

// True unless the bytes are a PNG that ends before its IEND chunk. libpng would print its own
// line on stderr for such a file; ker6_predict.py refuses it too. Each chunk is its length
// (4 bytes), its type (4), its data and a CRC (4).
bool png_is_complete(const std::vector<unsigned char>& d) {
    static const unsigned char kSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (d.size() < 8 || !std::equal(kSignature, kSignature + 8, d.begin())) return true;
    for (size_t i = 8; i + 8 <= d.size();) {
        size_t length = static_cast<size_t>(d[i]) << 24 | d[i + 1] << 16 | d[i + 2] << 8 | d[i + 3];
        bool end = std::equal(d.begin() + i + 4, d.begin() + i + 8, "IEND");
        i += 12 + length;
        if (i > d.size()) return false;
        if (end) return true;
    }
    return false;
}

// The image as the network saw it in training: an NHWC float32 blob of shape (1, 32, 32, 3).
// The same checks as ker6_predict.py makes when it reads a file.
cv::Mat prepare(const std::string& path, double scale, bool swap_to_rgb) {
    std::error_code ignored;
    if (!std::filesystem::exists(path, ignored)) throw UsageError("no such image file: " + path);
    if (std::filesystem::is_directory(path, ignored))
        throw UsageError(path + " is a folder, not an image file");
    std::ifstream file(path, std::ios::binary);
    if (!file) throw UsageError("cannot read " + path);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)),
                                     std::istreambuf_iterator<char>());
    if (bytes.empty()) throw UsageError(path + " is empty (0 bytes)");
    if (!jpeg_is_complete(bytes))  // before imread, whose JPEG reader would warn on stderr
        throw UsageError(path + " is a broken or truncated JPEG (it ends before its last marker)");
    if (!png_is_complete(bytes))  // the same for PNG, whose reader would print an error
        throw UsageError(path + " is a broken or truncated PNG (it ends before its last chunk)");
    cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);  // 8-bit BGR, whatever the file held
    if (image.empty()) throw UsageError(path + " is not an image OpenCV can read");
    if (swap_to_rgb) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);  // Keras models want RGB
    int side = std::min(image.rows, image.cols);
    cv::Rect square((image.cols - side) / 2, (image.rows - side) / 2, side, side);
    cv::Mat small;
    int interpolation = side >= kSide ? cv::INTER_AREA : cv::INTER_CUBIC;
    cv::resize(image(square), small, cv::Size(kSide, kSide), 0, 0, interpolation);
    cv::Mat pixels;
    small.convertTo(pixels, CV_32F, scale);  // (32, 32) of 3 floats, 0..1
    int shape[] = {1, kSide, kSide, 3};      // (batch, height, width, channels)
    return pixels.reshape(1, 4, shape).clone();
}

// How many characters a UTF-8 string shows: its code points (bytes not of the form 10xxxxxx),
// as Python's len() counts them. printf's %-*s counts bytes, which breaks the columns.
size_t characters(const std::string& text) {
    return std::count_if(text.begin(), text.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// The name in a column of `width` characters, as ker6_predict.py prints it: padded with
// spaces, or "..." and its last characters when it is longer.
std::string in_column(const std::string& name, size_t width) {
    size_t length = characters(name);
    if (length <= width) return name + std::string(width - length, ' ');
    size_t skip = length - (width - 3), start = 0;  // drop the first `skip` characters
    for (size_t seen = 0; start < name.size(); ++start) {
        if ((static_cast<unsigned char>(name[start]) & 0xC0) != 0x80 && seen++ == skip) break;
    }
    return "..." + name.substr(start);
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> images;
    std::string model;
    bool show_all = false, swap_to_rgb = true;
    int repeat = 0;
    double scale = 1.0 / 255.0;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() {
            if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            std::printf(
                "usage: predict MODEL.onnx IMAGE... [--probabilities] [--repeat N] "
                "[--scale S] [--bgr]\n");
            return 0;
        } else if (a == "--probabilities") {
            show_all = true;
        } else if (a == "--bgr") {
            swap_to_rgb = false;
        } else if (a == "--repeat") {
            std::string text = value();
            char* end = nullptr;
            long n = std::strtol(text.c_str(), &end, 10);
            if (*end != '\0' || n < 1) throw UsageError("--repeat wants a positive whole number");
            repeat = static_cast<int>(n);
        } else if (a == "--scale") {
            std::string text = value();
            char* end = nullptr;
            scale = std::strtod(text.c_str(), &end);
            if (*end != '\0' || !(scale > 0)) throw UsageError("--scale wants a positive number");
        } else if (a.rfind("--", 0) == 0) {
            throw UsageError("unknown option " + a);
        } else if (model.empty()) {
            model = a;
        } else {
            images.push_back(a);
        }
    }
    if (model.empty() || images.empty())
        throw UsageError("usage: predict MODEL.onnx IMAGE... (see --help)");
    if (!std::ifstream(model).good()) throw UsageError("no such model file: " + model);

    cv::dnn::Net net;
    try {
        net = cv::dnn::readNetFromONNX(model);  // loaded once, used for every image
    } catch (const cv::Exception& e) {
        throw UsageError("OpenCV cannot read " + model + " as an ONNX model: " + first_line(e.err));
    }
    std::printf("model: %s (OpenCV %s, cv::dnn)\n", model.c_str(), CV_VERSION);

    size_t width = 0;  // names padded to one column, as ker6_predict.py prints them
    for (const std::string& path : images) width = std::max(width, characters(path));
    width = std::min<size_t>(width, 40);
    std::vector<double> forward_ms;
    for (const std::string& path : images) {
        cv::Mat blob = prepare(path, scale, swap_to_rgb);
        net.setInput(blob);
        cv::Mat out = net.forward().clone();  // the first call also allocates the layers
        for (int r = 0; r < repeat; ++r) {
            auto start = std::chrono::steady_clock::now();
            net.setInput(blob);
            net.forward();
            std::chrono::duration<double, std::milli> took =
                std::chrono::steady_clock::now() - start;
            forward_ms.push_back(took.count());
        }
        if (out.total() != kClassNames.size())
            throw UsageError(model + " gives " + std::to_string(out.total()) +
                             " outputs per image, not 10 CIFAR-10 classes");
        const float* p = out.ptr<float>();
        std::vector<int> order(kClassNames.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [p](int a, int b) { return p[a] > p[b]; });
        std::printf("  %s ", in_column(path, width).c_str());
        for (int k = 0; k < kTopK; ++k)
            std::printf("  %11s %5.1f%%", kClassNames[order[k]].c_str(), 100.0 * p[order[k]]);
        std::printf("\n");
        if (show_all) {
            std::printf("    probabilities:");
            for (size_t c = 0; c < kClassNames.size(); ++c) std::printf(" %.9g", p[c]);
            std::printf("\n");
        }
    }
    if (!forward_ms.empty())
        std::printf("forward pass: median %.4f ms per image over %zu calls\n",
                    median(forward_ms), forward_ms.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    } catch (const cv::Exception& e) {
        std::fprintf(stderr, "error: OpenCV: %s\n", first_line(e.err).c_str());
    }
    return 2;
}
