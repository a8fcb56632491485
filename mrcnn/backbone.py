"""ResNet50/101 backbone (Matterport ``identity_block``, ``conv_block``, ``resnet_graph``).

Caffe-style ResNet v1: the stride sits on the first 1x1 convolution of a block; every
convolution has a bias. Layer names (``conv1``, ``bn_conv1``, ``res2a_branch2a``,
``bn2a_branch2a``, ..., ``res5c_out``) are Matterport's, so its weight files load by name.
"""

from keras import layers as KL

from mrcnn.layers.batch_norm import BatchNorm

# Identity blocks after the first (conv) block of stage 4.
STAGE4_BLOCKS = {"resnet50": 5, "resnet101": 22}


def _main_path(input_tensor, kernel_size, filters, stage, block, strides, use_bias, train_bn):
    """1x1 (with the block stride) -> kxk -> 1x1 convolutions with BatchNorm, ReLU between."""
    f1, f2, f3 = filters
    conv_name = f"res{stage}{block}_branch"
    bn_name = f"bn{stage}{block}_branch"
    x = KL.Conv2D(f1, (1, 1), strides=strides, name=conv_name + "2a",
                  use_bias=use_bias)(input_tensor)
    x = BatchNorm(name=bn_name + "2a", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(f2, (kernel_size, kernel_size), padding="same", name=conv_name + "2b",
                  use_bias=use_bias)(x)
    x = BatchNorm(name=bn_name + "2b", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(f3, (1, 1), name=conv_name + "2c", use_bias=use_bias)(x)
    return BatchNorm(name=bn_name + "2c", train_bn=train_bn)(x)


def identity_block(input_tensor, kernel_size, filters, stage, block, use_bias=True,
                   train_bn=True):
    """Residual block without a shortcut convolution.

    Args:
        input_tensor: [B, H, W, f3] Keras tensor (its channel count must be ``filters[2]``).
        kernel_size: kernel size of the middle convolution (3).
        filters: (f1, f2, f3) channels of the three convolutions.
        stage: stage number (2..5), used in layer names.
        block: block letter ('a', 'b', ...), used in layer names.
        use_bias: whether the convolutions have a bias.
        train_bn: ``config.TRAIN_BN`` for the ``BatchNorm`` layers.

    Returns:
        [B, H, W, f3] Keras tensor, the output of the ReLU named ``res{stage}{block}_out``.
    """
    x = _main_path(input_tensor, kernel_size, filters, stage, block, (1, 1), use_bias, train_bn)
    x = KL.Add()([x, input_tensor])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def conv_block(input_tensor, kernel_size, filters, stage, block, strides=(2, 2), use_bias=True,
               train_bn=True):
    """Residual block with a 1x1 shortcut convolution (the first block of a stage).

    Same arguments as ``identity_block``, plus ``strides`` applied by the first 1x1
    convolution and by the shortcut. Returns [B, H / s, W / s, f3].
    """
    x = _main_path(input_tensor, kernel_size, filters, stage, block, strides, use_bias, train_bn)
    shortcut = KL.Conv2D(filters[2], (1, 1), strides=strides, name=f"res{stage}{block}_branch1",
                         use_bias=use_bias)(input_tensor)
    shortcut = BatchNorm(name=f"bn{stage}{block}_branch1", train_bn=train_bn)(shortcut)
    x = KL.Add()([x, shortcut])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def resnet_graph(input_image, architecture, stage5=False, train_bn=True):
    """ResNet feature extractor.

    Args:
        input_image: [B, H, W, C] Keras tensor (molded image).
        architecture: "resnet50" or "resnet101".
        stage5: build stage 5 (Matterport's MaskRCNN always passes True).
        train_bn: ``config.TRAIN_BN``.

    Returns:
        [C1, C2, C3, C4, C5] Keras tensors at strides 4 (C1 after max-pooling), 4, 8, 16, 32
        with 64, 256, 512, 1024, 2048 channels; C5 is None when ``stage5`` is False.

    Raises:
        ValueError: unknown architecture.
    """
    if architecture not in STAGE4_BLOCKS:
        raise ValueError(f'architecture must be "resnet50" or "resnet101", not {architecture!r}')
    # Stage 1
    x = KL.ZeroPadding2D((3, 3))(input_image)
    x = KL.Conv2D(64, (7, 7), strides=(2, 2), name="conv1", use_bias=True)(x)
    x = BatchNorm(name="bn_conv1", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    C1 = x = KL.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
    # Stage 2
    x = conv_block(x, 3, [64, 64, 256], stage=2, block="a", strides=(1, 1), train_bn=train_bn)
    x = identity_block(x, 3, [64, 64, 256], stage=2, block="b", train_bn=train_bn)
    C2 = x = identity_block(x, 3, [64, 64, 256], stage=2, block="c", train_bn=train_bn)
    # Stage 3
    x = conv_block(x, 3, [128, 128, 512], stage=3, block="a", train_bn=train_bn)
    for block in "bcd":
        x = identity_block(x, 3, [128, 128, 512], stage=3, block=block, train_bn=train_bn)
    C3 = x
    # Stage 4
    x = conv_block(x, 3, [256, 256, 1024], stage=4, block="a", train_bn=train_bn)
    for i in range(STAGE4_BLOCKS[architecture]):
        x = identity_block(x, 3, [256, 256, 1024], stage=4, block=chr(98 + i),
                           train_bn=train_bn)
    C4 = x
    # Stage 5
    if stage5:
        x = conv_block(x, 3, [512, 512, 2048], stage=5, block="a", train_bn=train_bn)
        x = identity_block(x, 3, [512, 512, 2048], stage=5, block="b", train_bn=train_bn)
        C5 = identity_block(x, 3, [512, 512, 2048], stage=5, block="c", train_bn=train_bn)
    else:
        C5 = None
    return [C1, C2, C3, C4, C5]
