"""Synthetic change-detection samples that look like aerial imagery, made with numpy and Pillow.

A scene is a list of shapes (fields, roads, trees, buildings) rasterised into a map of
material ids and a shadow map; both dates share the scene and its texture, and time 2
adds, removes or recolours some shapes. The mask is where the two rasters differ, so
outside it the images differ only by a mild radiometric change and sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

_GRASS = (85.0, 105.0, 60.0)
_SOIL = (150.0, 130.0, 100.0)
_TREE = (45.0, 68.0, 38.0)
_ROAD = (118.0, 116.0, 112.0)
_BARE = (175.0, 155.0, 125.0)
_CROPS = ((125.0, 140.0, 75.0), (165.0, 150.0, 95.0), (100.0, 125.0, 65.0), (185.0, 170.0, 130.0))
_ROOFS = (
    (205.0, 195.0, 185.0),
    (170.0, 85.0, 65.0),
    (125.0, 125.0, 132.0),
    (225.0, 225.0, 220.0),
    (80.0, 82.0, 95.0),
    (150.0, 105.0, 75.0),
)
_SHADOW = 140  # shade value in [0, 255]: shadowed ground keeps 140/255 of its light
_FINE_NOISE = 7.0  # per-pixel texture amplitude in grey levels; sets the PNG size
_MID_NOISE = 5.0
_SENSOR_NOISE = 1.2

Point = tuple[float, float]


@dataclass
class _Materials:
    """Per-material colour, texture roughness and crop-row stripes; id 0 is the ground."""

    colour: list[tuple[float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0)])
    roughness: list[float] = field(default_factory=lambda: [1.0])
    stripes: list[tuple[float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0)])

    def add(
        self,
        colour: tuple[float, float, float],
        roughness: float,
        stripes: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> int:
        """Register a material (stripes: amplitude, x and y wave numbers) and return its id."""
        self.colour.append(colour)
        self.roughness.append(roughness)
        self.stripes.append(stripes)
        return len(self.colour) - 1


@dataclass
class _Shape:
    """One drawable object: a polygon, an ellipse (bounding box) or a thick line."""

    kind: str
    points: list[Point]
    material: int
    width: int = 0
    shadow: Point | None = None


@dataclass
class _Scene:
    """A sample's shapes: the shared ones and those only in time 1 or only in time 2."""

    size: int
    sun: float
    district: float
    materials: _Materials = field(default_factory=_Materials)
    shared: list[_Shape] = field(default_factory=list)
    buildings: list[_Shape] = field(default_factory=list)
    settlements: list[np.ndarray] = field(default_factory=list)
    before: list[_Shape] = field(default_factory=list)
    after: list[_Shape] = field(default_factory=list)


@dataclass
class _Surface:
    """Per-pixel inputs both dates share: ground colour, texture, light and coordinates."""

    ground: np.ndarray
    detail: np.ndarray
    light: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def at(self, where: np.ndarray) -> _Surface:
        """The surface at the pixels a boolean (size, size) mask selects."""
        return _Surface(
            self.ground[where], self.detail[where], self.light[where], self.x[where], self.y[where]
        )


def make_pair(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (time1, time2, mask): two (size, size, 3) uint8 RGB images and a {0, 255} mask."""
    scene = _layout(rng, size)
    _add_changes(rng, scene)
    ids1, shade1 = _rasterise(scene.shared + scene.before, size)
    ids2, shade2 = _rasterise(scene.shared + scene.after, size)
    changed = (ids1 != ids2) | (shade1 != shade2)
    surface = _surface(rng, size)
    clean1 = _render(ids1, shade1, scene.materials, surface)
    clean2 = clean1.copy()
    # Outside the change both rasters agree, so only the changed pixels need rendering again.
    clean2[changed] = _render(ids2[changed], shade2[changed], scene.materials, surface.at(changed))
    time1 = _to_uint8(clean1 + _SENSOR_NOISE * _noise(rng, (size, size, 3)))
    time2 = _to_uint8(
        _radiometric_shift(rng, clean2) + _SENSOR_NOISE * _noise(rng, (size, size, 3))
    )
    return time1, time2, changed.astype(np.uint8) * 255


def _layout(rng: np.random.Generator, size: int) -> _Scene:
    """Lay out the unchanged scene: crop fields, roads, tree clusters and buildings."""
    scene = _Scene(size, sun=rng.uniform(0.0, 2 * np.pi), district=rng.uniform(0.0, np.pi))
    scale = (size / 256) ** 2
    for _ in range(rng.integers(1, 5)):
        scene.shared.append(_field(rng, scene))
    for _ in range(rng.integers(1, 4)):
        scene.shared.append(_road(rng, scene))
    for _ in range(_count(rng, 1, 5, scale)):
        centre = rng.uniform(0.0, size, 2)
        for _ in range(rng.integers(3, 20)):
            scene.shared.append(_tree(rng, scene, centre))
    for _ in range(_count(rng, 1, 4, scale)):
        scene.settlements.append(rng.uniform(0.1 * size, 0.9 * size, 2))
        for _ in range(rng.integers(2, 12)):
            scene.buildings.append(_building(rng, scene, scene.settlements[-1]))
    scene.shared.extend(scene.buildings)
    return scene


def _count(rng: np.random.Generator, low: int, high: int, scale: float) -> int:
    """Draw a count in [low, high) for 256 px and scale it to the image area, at least 1."""
    return max(1, round(rng.integers(low, high) * scale))


def _field(rng: np.random.Generator, scene: _Scene) -> _Shape:
    """A large rotated crop parcel with rows of a random direction and spacing."""
    size = scene.size
    colour = _jitter(rng, _CROPS[rng.integers(len(_CROPS))], 12.0)
    angle = rng.uniform(0.0, np.pi)
    wave_number = 2 * np.pi / max(2.5, size * rng.uniform(0.008, 0.025))
    stripes = (rng.uniform(4.0, 12.0), wave_number * np.cos(angle), wave_number * np.sin(angle))
    material = scene.materials.add(colour, 0.8, stripes)
    width, height = size * rng.uniform(0.2, 0.6, 2)
    points = _rectangle(rng.uniform(0.0, size, 2), width, height, rng.uniform(0.0, np.pi))
    return _Shape("polygon", points, material)


def _road(rng: np.random.Generator, scene: _Scene) -> _Shape:
    """A straight road crossing the image, mostly along or across the district's grid."""
    size = scene.size
    angle = scene.district + rng.choice([0.0, np.pi / 2]) + rng.normal(0.0, 0.05)
    centre = rng.uniform(0.1 * size, 0.9 * size, 2)
    half = 1.5 * size * np.array([np.cos(angle), np.sin(angle)])
    material = scene.materials.add(_jitter(rng, _ROAD, 10.0), 0.4)
    width = max(2, round(size * rng.uniform(0.015, 0.04)))
    return _Shape("line", [tuple(centre - half), tuple(centre + half)], material, width)


def _tree(rng: np.random.Generator, scene: _Scene, centre: np.ndarray) -> _Shape:
    """A round tree crown scattered around a cluster centre, casting a short shadow."""
    size = scene.size
    x, y = centre + rng.normal(0.0, 0.06 * size, 2)
    radius = size * rng.uniform(0.01, 0.03)
    material = scene.materials.add(_jitter(rng, _TREE, 8.0), 1.6)
    box = [(x - radius, y - radius), (x + radius, y + radius)]
    return _Shape("ellipse", box, material, shadow=_offset(scene.sun, 0.8 * radius))


def _building(rng: np.random.Generator, scene: _Scene, centre: np.ndarray) -> _Shape:
    """A rotated rectangular roof near a settlement centre, aligned with the district."""
    size = scene.size
    width, height = size * rng.uniform(0.035, 0.1, 2)
    where = centre + rng.normal(0.0, 0.12 * size, 2)
    angle = scene.district + rng.normal(0.0, 0.04)
    material = scene.materials.add(_roof_colour(rng), 0.35)
    shadow = _offset(scene.sun, rng.uniform(0.2, 0.5) * min(width, height))
    return _Shape("polygon", _rectangle(where, width, height, angle), material, shadow=shadow)


def _add_changes(rng: np.random.Generator, scene: _Scene) -> None:
    """Add change events (new, demolished, recoloured buildings, cleared land) to a budget."""
    small = rng.random() < 0.15
    target = rng.uniform(0.0, 0.02) if small else rng.uniform(0.02, 0.18)
    budget = target * scene.size**2
    while budget > 0:
        kind = rng.choice(["new", "demolished", "recoloured", "cleared"], p=[0.4, 0.2, 0.2, 0.2])
        budget -= max(1.0, _change(rng, scene, str(kind)))


def _change(rng: np.random.Generator, scene: _Scene, kind: str) -> float:
    """Apply one change event to the scene and return an estimate of its area in pixels."""
    if kind == "cleared":
        return _clear_land(rng, scene)
    if kind == "new" or not scene.buildings:
        shape = _building(rng, scene, _new_site(rng, scene))
        scene.after.append(shape)
        return _area(shape.points)
    old = scene.buildings.pop(rng.integers(len(scene.buildings)))
    scene.shared.remove(old)
    scene.before.append(old)
    if kind == "recoloured":
        material = scene.materials.add(_new_roof_colour(rng, scene, old.material), 0.35)
        scene.after.append(_Shape(old.kind, old.points, material, shadow=old.shadow))
    return _area(old.points)


def _new_site(rng: np.random.Generator, scene: _Scene) -> np.ndarray:
    """Where a new building goes: mostly near a settlement, sometimes anywhere."""
    if rng.random() < 0.7:
        return scene.settlements[rng.integers(len(scene.settlements))]
    return rng.uniform(0.1 * scene.size, 0.9 * scene.size, 2)


def _clear_land(rng: np.random.Generator, scene: _Scene) -> float:
    """Turn a rotated patch of land (with whatever grew or stood there) into bare soil."""
    size = scene.size
    width, height = size * rng.uniform(0.06, 0.25, 2)
    points = _rectangle(rng.uniform(0.0, size, 2), width, height, rng.uniform(0.0, np.pi))
    material = scene.materials.add(_jitter(rng, _BARE, 15.0), 0.9)
    scene.after.append(_Shape("polygon", points, material))
    return width * height


def _roof_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A roof colour from the palette, slightly varied."""
    return _jitter(rng, _ROOFS[rng.integers(len(_ROOFS))], 10.0)


def _new_roof_colour(
    rng: np.random.Generator, scene: _Scene, material: int
) -> tuple[float, float, float]:
    """A roof colour clearly different from the given material's colour."""
    old = np.array(scene.materials.colour[material])
    while True:
        colour = _roof_colour(rng)
        if np.abs(np.array(colour) - old).mean() > 40.0:
            return colour


def _jitter(
    rng: np.random.Generator, colour: tuple[float, float, float], spread: float
) -> tuple[float, float, float]:
    """Shift a colour's brightness and each channel by a few grey levels."""
    shifted = np.array(colour) + rng.normal(0.0, spread) + rng.normal(0.0, spread / 3, 3)
    red, green, blue = (float(c) for c in shifted)
    return red, green, blue


def _rectangle(centre: np.ndarray, width: float, height: float, angle: float) -> list[Point]:
    """The corners of a rectangle rotated by angle (radians) about its centre."""
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    cos, sin = np.cos(angle), np.sin(angle)
    rotated = corners @ np.array([[cos, sin], [-sin, cos]]) + centre
    return [(float(x), float(y)) for x, y in rotated]


def _offset(sun: float, length: float) -> Point:
    """A shadow's displacement away from the sun."""
    return (float(length * np.cos(sun)), float(length * np.sin(sun)))


def _area(points: list[Point]) -> float:
    """The area of a polygon (shoelace formula)."""
    x, y = np.array(points).T
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def _rasterise(shapes: list[_Shape], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw shapes in order into a material-id map and a shade map (255 = full light)."""
    ids = Image.new("I", (size, size), 0)
    shade = Image.new("L", (size, size), 255)
    draw_ids, draw_shade = ImageDraw.Draw(ids), ImageDraw.Draw(shade)
    for shape in shapes:
        if shape.shadow is not None:
            dx, dy = shape.shadow
            shifted = [(x + dx, y + dy) for x, y in shape.points]
            _draw(draw_shade, shape.kind, shifted, _SHADOW, shape.width)
            _draw(draw_shade, shape.kind, shape.points, 255, shape.width)
        _draw(draw_ids, shape.kind, shape.points, shape.material, shape.width)
    return np.asarray(ids), np.asarray(shade)


def _draw(draw: ImageDraw.ImageDraw, kind: str, points: list[Point], fill: int, width: int) -> None:
    """Draw one polygon, ellipse or line with a solid fill."""
    if kind == "polygon":
        draw.polygon(points, fill=fill)
    elif kind == "ellipse":
        draw.ellipse(points, fill=fill)
    else:
        draw.line(points, fill=fill, width=width)


def _smooth(rng: np.random.Generator, size: int, cells: int, channels: int) -> np.ndarray:
    """A smooth (size, size, channels) field in about [0, 1]: coarse noise upsampled bicubically."""
    coarse = rng.random((channels, cells, cells), dtype=np.float32)
    layers = [
        np.asarray(Image.fromarray(c).resize((size, size), Image.Resampling.BICUBIC))
        for c in coarse
    ]
    return np.stack(layers, axis=-1)


def _surface(rng: np.random.Generator, size: int) -> _Surface:
    """Draw the ground, texture and light of a sample."""
    y, x = np.indices((size, size), dtype=np.float32)
    ground = _ground(rng, size)
    detail = _detail(rng, size, rng.uniform(0.8, 1.2))
    light = 1.0 + 0.12 * (_smooth(rng, size, 4, 1) - 0.5)
    return _Surface(ground, detail, light, x, y)


def _ground(rng: np.random.Generator, size: int) -> np.ndarray:
    """Ground colour: grass and bare soil mixed by a smooth field, with slow colour drift."""
    grass = np.array(_jitter(rng, _GRASS, 10.0), dtype=np.float32)
    soil = np.array(_jitter(rng, _SOIL, 10.0), dtype=np.float32)
    mix = np.clip((_smooth(rng, size, int(rng.integers(3, 6)), 1) - 0.35) * 2.5, 0.0, 1.0)
    cells = int(rng.integers(6, 12))
    drift = 20.0 * (_smooth(rng, size, cells, 1) - 0.5) + 8.0 * (_smooth(rng, size, cells, 3) - 0.5)
    return grass + mix * (soil - grass) + drift


def _detail(rng: np.random.Generator, size: int, strength: float) -> np.ndarray:
    """Shared texture: per-pixel grain (times strength) and blotches a few pixels wide."""
    grain = _noise(rng, (size, size, 1)) + 0.3 * _noise(rng, (size, size, 3))
    coarse = rng.standard_normal((max(2, size // 4),) * 2, dtype=np.float32)
    blotches = Image.fromarray(coarse).resize((size, size), Image.Resampling.BILINEAR)
    return strength * _FINE_NOISE * grain + _MID_NOISE * np.asarray(blotches)[..., None]


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance uniform noise; much cheaper to draw than Gaussian noise."""
    return (rng.random(shape, dtype=np.float32) - 0.5) * np.float32(np.sqrt(12.0))


def _render(
    ids: np.ndarray, shade: np.ndarray, materials: _Materials, surface: _Surface
) -> np.ndarray:
    """Colour rasterised pixels: material colours, texture, crop rows, shadows and light."""
    colours = np.array(materials.colour, dtype=np.float32)
    roughness = np.array(materials.roughness, dtype=np.float32)
    amplitude, kx, ky = np.array(materials.stripes, dtype=np.float32).T
    colour = np.where((ids == 0)[..., None], surface.ground, colours[ids])
    rows = amplitude[ids] * np.sin(surface.x * kx[ids] + surface.y * ky[ids])
    textured = colour + roughness[ids][..., None] * surface.detail + rows[..., None]
    return textured * (shade.astype(np.float32) / 255)[..., None] * surface.light


def _radiometric_shift(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A mild global gain and offset change per channel, as between two acquisitions."""
    gain = 1.0 + rng.uniform(-0.02, 0.02) + rng.uniform(-0.005, 0.005, 3)
    offset = rng.uniform(-3.0, 3.0) + rng.uniform(-0.5, 0.5, 3)
    return image * gain.astype(np.float32) + offset.astype(np.float32)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clip a float image to uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
