"""Detection on video files: frames read with OpenCV, detected in batches, rendered, written back.

``detect_video(model, input_path, output_path)`` is behind ``mrcnn detect --video IN --output OUT``
and the balloon sample's ``detect_and_color_splash(model, video_path=...)``. Matterport's balloon
sample read one frame at a time with ``cv2.VideoCapture`` and wrote an MJPG ``.avi``; here frames
are detected ``config.BATCH_SIZE`` at a time, the codec follows the output's extension, a
progress bar counts frames, and the output appears only when complete (it is written to a
temporary name in the same folder and renamed at the end; a failure removes it).
"""

import os

import numpy as np

#: FourCC codes by output extension (lower case); other extensions are refused.
FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}

#: Frame rate written when the input does not report one.
DEFAULT_FPS = 30.0


class VideoError(Exception):
    """A video that cannot be opened, read or written (the message names the file and fix)."""


def output_problem(output_path):
    """Why ``output_path`` cannot be the output video (str), or None.

    The extension must be one of ``FOURCC``, the path must not be a folder, and its folder must
    exist.
    """
    ext = os.path.splitext(output_path)[1].lower()
    if ext not in FOURCC:
        return (f"has the extension {ext or '(none)'!r}; the output video must end in one of "
                f"{', '.join(sorted(FOURCC))}")
    if os.path.isdir(output_path):
        return "is a directory; give a video file name such as out.mp4"
    folder = os.path.dirname(os.path.abspath(output_path))
    if not os.path.isdir(folder):
        return f"is in a folder that does not exist ({folder})"
    return None


def open_video(input_path):
    """Opens ``input_path`` with ``cv2.VideoCapture``.

    Returns:
        (capture, fps, (width, height), frame_count): ``fps`` is ``DEFAULT_FPS`` when the file
        reports none; ``frame_count`` is the container's count (0 when unknown, an estimate for
        some codecs).

    Raises:
        VideoError: the file is missing or OpenCV cannot decode it.
    """
    import cv2
    if not os.path.isfile(input_path):
        raise VideoError(f"video file not found: {input_path}")
    capture = cv2.VideoCapture(os.fspath(input_path))
    if not capture.isOpened():
        raise VideoError(f"cannot open video {input_path}: OpenCV has no decoder for it (is it "
                         "a video file? convert it to H.264 .mp4 or MJPG .avi, e.g. with ffmpeg)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or not np.isfinite(fps) or fps <= 0:
        fps = DEFAULT_FPS
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    count = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    return capture, float(fps), (width, height), count


def read_frames(capture):
    """Yields the frames of an opened capture as RGB uint8 ``[H, W, 3]`` arrays."""
    import cv2
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _draw_detections(class_names):
    from mrcnn import rendering

    def draw(image, r):
        names = class_names or [str(i) for i in range(int(np.max(r["class_ids"], initial=0)) + 1)]
        return rendering.draw_instances(image, r["rois"], r["masks"], r["class_ids"], names,
                                        r["scores"])
    return draw


def detect_video(model, input_path, output_path, render=None, class_names=None,
                 batch_size=None, progress=True):
    """Detects every frame of a video and writes the rendered frames to a new video.

    Args:
        model: an inference ``MaskRCNN``.
        input_path: any video OpenCV can read (``cv2.VideoCapture``).
        output_path: the video to write: ``.mp4``/``.m4v``/``.mov`` (codec mp4v) or
            ``.avi``/``.mkv`` (MJPG), at the input's frame rate and size. Replaced if it exists.
        render: ``f(image, r) -> [H, W, 3] uint8`` drawing a frame (RGB) from its ``detect()``
            result ``r``; default: ``rendering.draw_instances`` with ``class_names``.
        class_names: names for the default renderer (index = class id).
        batch_size: frames per ``model.detect`` call; default ``model.config.BATCH_SIZE``.
        progress: show a tqdm progress bar (frames).

    Returns:
        dict ``{"frames": frames written, "fps": float, "size": (width, height),
        "instances": detections per frame (list of int)}``.

    Raises:
        VideoError: the input cannot be opened, has no frames, the output path is unusable or
            OpenCV cannot write it, or a rendered frame has the wrong size or dtype. No output
            file is left behind on failure.
    """
    import cv2
    from tqdm.auto import tqdm

    problem = output_problem(os.fspath(output_path))
    if problem is not None:
        raise VideoError(f"output video {output_path} {problem}")
    batch_size = int(batch_size or model.config.BATCH_SIZE)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    render = render or _draw_detections(class_names)
    capture, fps, (width, height), count = open_video(input_path)
    ext = os.path.splitext(output_path)[1]
    folder = os.path.dirname(os.path.abspath(output_path))
    temporary = os.path.join(folder, f".{os.path.basename(output_path)}.{os.getpid()}.part{ext}")
    writer = None
    instances = []
    try:
        writer = cv2.VideoWriter(temporary, cv2.VideoWriter_fourcc(*FOURCC[ext.lower()]), fps,
                                 (width, height))
        if not writer.isOpened():
            raise VideoError(f"cannot write video {output_path}: OpenCV cannot open a "
                             f"{FOURCC[ext.lower()]} writer for it (try an .avi output)")
        with tqdm(total=count or None, desc="Detecting", unit="frame",
                  disable=not progress) as bar:
            frames = read_frames(capture)
            while True:
                batch = [frame for _, frame in zip(range(batch_size), frames)]
                if not batch:
                    break
                for image, r in zip(batch, model.detect(batch, verbose=0)):
                    out = np.asarray(render(image, r))
                    if out.shape != image.shape or out.dtype != np.uint8:
                        raise VideoError(f"render returned a {out.dtype} array of shape "
                                         f"{out.shape}; it must return uint8 {image.shape}")
                    writer.write(cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
                    instances.append(int(len(r["class_ids"])))
                bar.update(len(batch))
        if not instances:
            raise VideoError(f"video {input_path} has no frames OpenCV can decode")
        writer.release()
        writer = None
        os.replace(temporary, output_path)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if os.path.exists(temporary):
            os.remove(temporary)
    return {"frames": len(instances), "fps": fps, "size": (width, height),
            "instances": instances}


def write_video(path, frames, fps=DEFAULT_FPS):
    """Writes RGB uint8 frames (all one size) to a video (codec from the extension, as
    ``detect_video``); for tests and examples. Returns the path."""
    import cv2
    frames = [np.asarray(f) for f in frames]
    if not frames:
        raise ValueError("no frames to write")
    problem = output_problem(os.fspath(path))
    if problem is not None:
        raise VideoError(f"output video {path} {problem}")
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(os.fspath(path),
                             cv2.VideoWriter_fourcc(*FOURCC[os.path.splitext(path)[1].lower()]),
                             fps, (width, height))
    if not writer.isOpened():
        raise VideoError(f"cannot write video {path}")
    try:
        for frame in frames:
            if frame.shape[:2] != (height, width):
                raise ValueError(f"frames differ in size: {frame.shape[:2]} vs {(height, width)}")
            writer.write(cv2.cvtColor(frame.astype(np.uint8), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


# ---------------------------------------------------------------- mrcnn detect --video

def check_video_args(parser, args):
    """``mrcnn detect --video IN --output OUT``'s checks before any model is built: exits with
    status 2 (``parser.error``) when images are given too, IN is not a non-empty file, OUT is
    not a video file name in an existing folder, or the --weights file is missing."""
    from mrcnn.cli import _file_problem
    if args.images:
        parser.error("give image files or --video, not both (run detect twice)")
    problem = _file_problem(args.video)
    if problem is not None:
        parser.error(f"--video {args.video} {problem}")
    problem = output_problem(args.output)
    if problem is not None:
        parser.error(f"--output {args.output} {problem}")
    if os.path.abspath(args.output) == os.path.abspath(args.video):
        parser.error("--output is the --video file; choose another name")
    if args.weights.lower() != "coco":
        problem = _file_problem(args.weights)
        if problem == "not found":
            parser.error(f"weights file not found: {args.weights} (use --weights coco for the "
                         "released COCO weights)")
        if problem is not None:
            parser.error(f"--weights {args.weights} {problem} (give a .h5 weights file, or "
                         "--weights coco)")


def detect_video_command(args):
    """``mrcnn detect --video``: detects the frames ``--batch-size`` at a time with the
    ``--config`` model and writes the overlay video to ``--output``.

    Returns:
        0.

    Raises:
        mrcnn.cli.CommandError: the weights cannot be had or are refused, or the video cannot be
            read or written (one line, exit status 1).
    """
    from mrcnn import cli
    try:  # an undecodable video fails before the weights and the model are loaded
        open_video(args.video)[0].release()
    except VideoError as e:
        raise cli.CommandError(cli._one_line(e)) from None
    weights = cli._resolve_weights(args.weights)
    import mrcnn.model as modellib
    class_names, _ = cli.CONFIGS[args.config]
    config = cli.make_config(args.config, args.min_confidence, args.batch_size)
    model = modellib.MaskRCNN(mode="inference", config=config,
                              model_dir=os.path.dirname(os.path.abspath(args.output)))
    try:
        model.load_weights(weights, by_name=True)
    except (OSError, ValueError) as e:
        raise cli.CommandError(cli._weights_refused(weights, e)) from None
    try:
        result = detect_video(model, args.video, args.output, class_names=class_names)
    except VideoError as e:
        raise cli.CommandError(cli._one_line(e)) from None
    except OSError as e:
        raise cli.CommandError(f"cannot write {args.output}: {e.strerror or e}") from None
    print(f"Wrote {result['frames']} frames ({result['size'][0]}x{result['size'][1]}, "
          f"{result['fps']:g} fps) to {args.output}")
    return 0
