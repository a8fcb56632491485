"""Feature Pyramid Network top-down path (built inside Matterport's ``MaskRCNN.build``).

Layer names ``fpn_c5p5`` .. ``fpn_p2`` are Matterport's. P6 is P5 subsampled by 2 (max-pooling
with a 1x1 window), used by the RPN only.
"""

from keras import layers as KL


def build_fpn(C2, C3, C4, C5, pyramid_size=256):
    """Builds P2..P6 from the backbone outputs.

    Args:
        C2, C3, C4, C5: [B, H / s, W / s, ch] Keras tensors at strides 4, 8, 16, 32.
        pyramid_size: channels of every P level (``config.TOP_DOWN_PYRAMID_SIZE``).

    Returns:
        [P2, P3, P4, P5, P6] Keras tensors at strides 4, 8, 16, 32, 64 with ``pyramid_size``
        channels.
    """
    P5 = KL.Conv2D(pyramid_size, (1, 1), name="fpn_c5p5")(C5)
    P4 = KL.Add(name="fpn_p4add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p5upsampled")(P5),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c4p4")(C4)])
    P3 = KL.Add(name="fpn_p3add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p4upsampled")(P4),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c3p3")(C3)])
    P2 = KL.Add(name="fpn_p2add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p3upsampled")(P3),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c2p2")(C2)])
    P2 = KL.Conv2D(pyramid_size, (3, 3), padding="SAME", name="fpn_p2")(P2)
    P3 = KL.Conv2D(pyramid_size, (3, 3), padding="SAME", name="fpn_p3")(P3)
    P4 = KL.Conv2D(pyramid_size, (3, 3), padding="SAME", name="fpn_p4")(P4)
    P5 = KL.Conv2D(pyramid_size, (3, 3), padding="SAME", name="fpn_p5")(P5)
    P6 = KL.MaxPooling2D(pool_size=(1, 1), strides=2, name="fpn_p6")(P5)
    return [P2, P3, P4, P5, P6]
